// The GPU kit's CLI entry: the same commands as `npm run -s cli`, bundled into one file with its dependencies.
import { main } from '../../src/cli/main';

process.exitCode = await main(process.argv.slice(2));
