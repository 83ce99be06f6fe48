// VM workloads: image from Debian packages, guest config, qemu, the NIC join, one VM's life.
export * from './guest-config.js';
export * from './image.js';
export * from './qemu.js';
export * from './runner.js';
