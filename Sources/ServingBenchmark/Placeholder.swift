// ServingBenchmark: placeholder until its first file lands.
