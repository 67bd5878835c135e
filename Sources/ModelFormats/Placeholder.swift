// ModelFormats: placeholder until its first file lands.
