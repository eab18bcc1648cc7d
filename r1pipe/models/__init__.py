"""Models: loading models and tokenizers (toy, local dir or hub id), chat templates, prompt lengths."""
