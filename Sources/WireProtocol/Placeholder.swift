// WireProtocol: placeholder until its first file lands.
