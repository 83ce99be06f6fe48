#!/usr/bin/env node
// Entry point of the `nsm` command: runs the compiled CLI from dist/.
import '../dist/cmd/main.js';
