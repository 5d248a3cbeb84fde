import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import execa from 'execa';
import { COMMANDS } from '../../src/cli/commands/table';
import { repoRoot } from '../helpers';

// `mala-ts --help` lists the commands from src/cli/commands/table.ts without loading them; the
// listing must say what the modules themselves register.
describe('cli: the command table', () => {
  it('has one row per command module, and each term and summary is what the module registers', () => {
    const modules = fs.readdirSync(path.join(repoRoot, 'src/cli/commands')).filter((f) => f.endsWith('.ts') && f !== 'table.ts').map((f) => f.replace(/\.ts$/, ''));
    assert.deepEqual([...COMMANDS.map((c) => c.name)].sort(), modules.sort());
    for (const entry of COMMANDS) {
      const program = new Command();
      require(`../../src/cli/commands/${entry.name}`).register(program);
      assert.equal(program.commands.length, 1, `${entry.name} registers one command`);
      const cmd = program.commands[0];
      assert.equal(cmd.name(), entry.name);
      assert.equal(program.createHelp().subcommandTerm(cmd), entry.term, `term of ${entry.name}`);
      assert.equal(cmd.description(), entry.summary, `summary of ${entry.name}`);
    }
  });

  it('--help lists every command with its term and loads none of them; a command name loads its module', async function () {
    this.timeout(60000);
    const bin = path.join(repoRoot, 'bin', 'mala-ts.js');
    // a preloaded hook reports, at exit, the command and workflow modules the process loaded
    const hook = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mala-ts-cmd-')), 'hook.js');
    fs.writeFileSync(hook, "process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify(Object.keys(require.cache).filter((f) => /[\\\\/](workflow|cli[\\\\/]commands)[\\\\/](?!table)/.test(f)).map((f) => require('path').basename(f)))))\n");
    const loaded = (stderr: string): string[] => JSON.parse(/LOADED (\[.*\])/.exec(stderr)![1]);
    const help = await execa('node', ['--require', hook, bin, '--help'], { cwd: repoRoot });
    assert.deepEqual(loaded(help.stderr), [], 'no command or workflow module loaded for --help');
    const info = await execa('node', ['--require', hook, bin, 'model-info', '--help'], { cwd: repoRoot });
    assert.ok(loaded(info.stderr).some((f) => /^model-info\.(ts|js)$/.test(f)), `model-info loaded: ${loaded(info.stderr)}`);
    assert.ok(!loaded(info.stderr).some((f) => /^predict\.(ts|js)$/.test(f)), 'predict not loaded for model-info');
    for (const c of COMMANDS) assert.match(help.stdout, new RegExp(`^  ${c.term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `, 'm'), `${c.name} listed`);
    const sub = await execa('node', [bin, 'help', 'model-info'], { cwd: repoRoot });
    assert.match(sub.stdout, /Usage: mala-ts model-info \[options\] <model>/);
    assert.match(sub.stdout, /--json/, 'the real module registered its options');
    const unknown = await execa('node', [bin, 'predictt'], { cwd: repoRoot, reject: false });
    assert.equal(unknown.exitCode, 1);
    assert.match(unknown.stderr, /unknown command 'predictt'/);
  });
});
