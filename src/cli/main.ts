// The Node CLI: the engine on Dawn (npm `webgpu`), for tests, benchmarks and scripting.
//   make-model  writes a synthetic Qwen2 model      logits  writes the last position's logits
//   generate    streams an answer                    bench   prints speed and GPU counters as JSON
//   share-link  makes a share link from a record     share-open  decodes a share link
// Every command prints a one-line error and exits non-zero on bad input.
import { BoxedError, toErrorInfo } from '../protocol/errors';
import { makeModelCommand } from './make-model';
import { logitsCommand } from './logits';
import { generateCommand } from './generate';
import { benchCommand } from './bench';
import { shareLinkCommand, shareOpenCommand } from './share';
import { answersCommand } from './answers';
import { benchLoadCommand } from './bench-load';
import { serveCommand } from './serve';
import { benchServeCommand } from './serve-bench';

const USAGE = `usage: npm run -s cli -- COMMAND [options]
  make-model --out DIR --preset tiny|odd|full|k256 [--untied] [--seed N] [--gguf F16|Q8_0|Q4_0|Q4_K|Q6_K|Q4_K_M]
  logits     --model DIR --tokens 1,2,3 --out FILE [--path prefill|decode] [--weights q4|q8|f16|f32] [--context N] [--kv f16|f32|q8]
  generate   --model DIR --prompt TEXT [--mode raw|chat|math|code|science4|science10|science-open] [--max-tokens N]
             [--temperature T] [--top-p P] [--top-k K] [--seed S] [--weights ...] [--context N] [--json]
             [--samples N [--select vote|genselect]]   (heavy mode: N candidates decoded together)
  bench      --model DIR [--prompt-tokens P] [--gen-tokens G] [--rows 1,2,4,8,16] [--roofline-only] [--weights ...] [--context N] [--json]
             [--samples 1,4,8,16]   (heavy mode: aggregate and per-sequence decode tokens/s per N)
  bench-load --model DIR|hub:owner/name[@rev] [--endpoint URL] [--cache DIR] [--parallel N] [--weights ...] [--context N] [--json]
  serve      --model DIR|FILE.gguf|hub:owner/name [--port 8000] [--host 127.0.0.1] [--batch 4] [--api-key KEY] [--cors-origin *]
             [--weights ...] [--context N]   (OpenAI-compatible HTTP: /v1/models, /v1/chat/completions, /v1/completions)
  bench-serve --model DIR [--prompt-tokens P] [--gen-tokens G] [--n N] [--runs R] [--json]   (tokens/s through serve vs in-process)
  share-link --in RECORD.json [--base URL]
  share-open --url URL [--json]
  answers    --in FILE.jsonl (or -): reads answers and compares them, one JSON line out per line in
  (--model hub:owner/name[@rev] [--endpoint URL] [--cache DIR] works for logits, generate and bench too)`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'make-model':
        await makeModelCommand(rest);
        return 0;
      case 'logits':
        await logitsCommand(rest);
        return 0;
      case 'generate':
        await generateCommand(rest);
        return 0;
      case 'bench':
        await benchCommand(rest);
        return 0;
      case 'share-link':
        await shareLinkCommand(rest);
        return 0;
      case 'share-open':
        await shareOpenCommand(rest);
        return 0;
      case 'answers':
        await answersCommand(rest);
        return 0;
      case 'bench-load':
        await benchLoadCommand(rest);
        return 0;
      case 'serve':
        await serveCommand(rest);
        return 0;
      case 'bench-serve':
        await benchServeCommand(rest);
        return 0;
      case undefined:
      case '--help':
      case 'help':
        process.stdout.write(USAGE + '\n');
        return command === undefined ? 2 : 0;
      default:
        throw new BoxedError('InvalidRequest', `unknown command '${command}'\n${USAGE}`);
    }
  } catch (e) {
    const info = toErrorInfo(e);
    process.stderr.write(`error: ${info.name}: ${info.message.split('\n')[0]}\n`);
    if (process.env.BOXED_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return info.name === 'InvalidRequest' ? 2 : 1;
  }
}
