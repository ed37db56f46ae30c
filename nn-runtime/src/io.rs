//! Weight files: safetensors with PyTorch `state_dict` keys and layouts.
