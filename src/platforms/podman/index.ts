// Podman workloads: busybox root filesystem, container lifecycle, namespace lookup.
export * from './podman.js';
export * from './rootfs.js';
export * from './workloads.js';
