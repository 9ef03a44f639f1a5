"""The llama.cpp backends (llama_cpp in-process, llama_server over HTTP) and the helpers only they use."""
