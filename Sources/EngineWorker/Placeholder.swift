// EngineWorker: placeholder until its first file lands.
