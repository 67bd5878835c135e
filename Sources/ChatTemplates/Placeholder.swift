// ChatTemplates: placeholder until its first file lands.
