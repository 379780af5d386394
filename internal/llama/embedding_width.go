package llama

// NEmbdOut is the width of the model's output embeddings, the length of the vectors EmbeddingsSeq returns;
// it differs from NEmbd for models with a projection after the last layer.
func (m *Model) NEmbdOut() int { return m.nEmbdOut }
