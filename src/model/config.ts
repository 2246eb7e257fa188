// The model's shape, parsed from Hugging Face config.json. The only file that reads HF snake_case.
// Short names, defined once (llama2.c style):
//   dim       hidden size (width of the residual stream)
//   ffnDim    intermediate size of the MLP
//   nHeads    query heads;  nKvHeads  key/value heads (GQA: nHeads % nKvHeads == 0)
//   headDim   per-head width (dim / nHeads unless config gives head_dim)
//   kvDim     nKvHeads * headDim
//   vocab     rows of the embedding and of the LM head (padded beyond the tokenizer's size)

export interface ModelConfig {
  architecture: string; // 'Qwen2ForCausalLM'
  dim: number;
  ffnDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  kvDim: number;
  vocab: number;
  normEps: number;
  ropeTheta: number;
  maxPositions: number;
  tiedEmbeddings: boolean;
  /** dtype the checkpoint was saved in ('bfloat16', 'float16', 'float32'). */
  torchDtype: string;
  bosTokenId: number | null;
  /** Token ids that end generation (config eos plus generation_config eos). */
  eosTokenIds: number[];
}

/** Sampling defaults from generation_config.json, when present. */
export interface GenerationDefaults {
  eosTokenIds: number[];
  temperature?: number;
  topP?: number;
  topK?: number;
}
