"""nabla.optim against torch.optim: optimizers, schedules, clipping; constraints against Keras' rules."""
