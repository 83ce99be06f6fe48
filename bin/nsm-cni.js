#!/usr/bin/env node
// nsm-cni: the CNI plugin executable (runs the compiled plugin from dist/).
import '../dist/platforms/cni/plugin-main.js';
