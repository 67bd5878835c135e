// Kernels: placeholder until its first file lands.
