"""Analysis of trained models: Fourier basis and transforms, progress measures."""
