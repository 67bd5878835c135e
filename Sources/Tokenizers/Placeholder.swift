// Tokenizers: placeholder until its first file lands.
