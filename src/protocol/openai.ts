// The OpenAI-compatible HTTP API as Boxed speaks it, both ways: `serve` (src/cli) answers it, and the server
// engine (the app talking to vLLM, SGLang, TensorRT-LLM, llama.cpp's server or Boxed's own `serve`) sends it.
// Types only. The subset is the one these servers share: /v1/models, /v1/chat/completions and
// /v1/completions, streamed as Server-Sent Events (`data: {chunk}` lines, then `data: [DONE]`).
// Fields marked "extension" are not in OpenAI's API but are accepted by vLLM and SGLang.

export interface OpenAiChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Sampling and length parameters shared by both completion routes. */
export interface OpenAiSamplingFields {
  model: string;
  /** Completions per request (heavy mode's N). */
  n?: number;
  max_tokens?: number;
  /** The newer name of max_tokens on the chat route. */
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  /** extension: 0 or -1 means no top-k */
  top_k?: number;
  seed?: number;
  /** Up to 4 strings; the text ends before the first one produced. */
  stop?: string | string[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  /** Boxed's serve only (not vLLM/SGLang): each choice also carries the generated `token_ids` */
  return_token_ids?: boolean;
}

export interface OpenAiChatRequest extends OpenAiSamplingFields {
  messages: OpenAiChatMessage[];
  /** extension (vLLM): false renders the template without opening a new assistant turn */
  add_generation_prompt?: boolean;
  /** extension (vLLM): the last (assistant) message is left open and the model continues it */
  continue_final_message?: boolean;
}

export interface OpenAiCompletionRequest extends OpenAiSamplingFields {
  prompt: string;
}

/** 'stop': an end-of-sequence token or a stop string; 'length': max_tokens (or the context) was reached. */
export type OpenAiFinishReason = 'stop' | 'length' | 'abort' | null;

export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface OpenAiChatChoice {
  index: number;
  message: { role: 'assistant'; content: string; reasoning_content?: string | null };
  finish_reason: OpenAiFinishReason;
  /** Boxed's serve only (not vLLM/SGLang): the generated ids (with return_token_ids) */
  token_ids?: number[];
}

export interface OpenAiChatResponse {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: OpenAiChatChoice[];
  usage: OpenAiUsage;
}

export interface OpenAiChatChunkChoice {
  index: number;
  delta: { role?: 'assistant'; content?: string | null; reasoning_content?: string | null };
  finish_reason: OpenAiFinishReason;
  /**
   * extension (return_token_ids): Boxed's serve gives all the generated ids on the choice's last chunk; vLLM's
   * own return_token_ids (newer releases) gives each chunk's ids. The server engine reads both.
   */
  token_ids?: number[] | null;
}

export interface OpenAiChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: OpenAiChatChunkChoice[];
  /** Present (and `choices` empty) on the last chunk when stream_options.include_usage is true. */
  usage?: OpenAiUsage | null;
}

export interface OpenAiCompletionChoice {
  index: number;
  text: string;
  finish_reason: OpenAiFinishReason;
  logprobs?: null;
  /** extension (return_token_ids): as on the chat chunk's choices */
  token_ids?: number[] | null;
}

export interface OpenAiCompletionResponse {
  id: string;
  /** The same object name for the whole response and for each streamed chunk. */
  object: 'text_completion';
  created: number;
  model: string;
  choices: OpenAiCompletionChoice[];
  usage?: OpenAiUsage | null;
}

export interface OpenAiModelList {
  object: 'list';
  data: { id: string; object: 'model'; created: number; owned_by: string; max_model_len?: number }[];
}

/** The error body every route answers with (with a 4xx/5xx status). */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | number | null };
}
