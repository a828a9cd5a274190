// Anchors the shared LibTorch precompiled header (cmake/torch_pch.h).
