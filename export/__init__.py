"""Export: checkpoint -> TorchScript (.pt), torch.export (.pt2) and ONNX files, each verified."""
