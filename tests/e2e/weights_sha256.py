"""Prints the SHA-256 of a TorchScript model's weights: every parameter and
buffer, by name, in name order (the .pt file's own bytes are not
reproducible, its weights are)."""
import hashlib
import sys

import torch

model = torch.jit.load(sys.argv[1], map_location="cpu")
digest = hashlib.sha256()
state = dict(model.named_parameters())
state.update(dict(model.named_buffers()))
for name in sorted(state):
    digest.update(name.encode())
    digest.update(state[name].detach().contiguous().numpy().tobytes())
print(digest.hexdigest())
