// The policydsl extension's client: plain JavaScript, no build step.
//
// Highlighting comes from the TextMate grammar (syntaxes/policydsl.tmLanguage.json) and
// needs nothing else. Everything else (diagnostics, hover, completion, go to definition,
// references, rename, symbols, formatting) comes from the language server, `policydsl lsp`,
// which this file starts over standard input and output for the documents of language
// `policydsl`. The command is the setting `policydsl.server.command` (default `policydsl`,
// looked up on PATH, then in the workspace's `.venv`) with `policydsl.server.args`
// (default `["lsp"]`). A change to a `policydsl.server.*` setting restarts the server; the
// server's own setting, `policydsl.asOf`, is sent to the running server.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

const LANGUAGE = 'policydsl';
const INSTALL = "pip install 'policydsl[lsp]'";
const INSTALL_HINT = `install policydsl: ${INSTALL}`;
const WINDOWS = process.platform === 'win32';

let client;
let output;
let starting = Promise.resolve();

/** The `policydsl.server.*` settings, with their defaults, and the server's own (`policydsl.asOf`). */
function serverSettings() {
  const config = vscode.workspace.getConfiguration('policydsl');
  const command = String(config.get('server.command') || 'policydsl').trim() || 'policydsl';
  const args = config.get('server.args');
  const env = config.get('server.env');
  const asOf = config.get('asOf');
  return {
    asOf: typeof asOf === 'string' && asOf.trim() ? asOf.trim() : undefined,
    command,
    args: Array.isArray(args) ? args.map(String) : ['lsp'],
    env: env && typeof env === 'object' ? env : {},
  };
}

function workspaceFolders() {
  return (vscode.workspace.workspaceFolders || [])
    .filter((folder) => folder.uri && folder.uri.scheme === 'file')
    .map((folder) => folder.uri.fsPath);
}

/** `~`, `${userHome}` and `${workspaceFolder}` in a setting, as VS Code's own settings expand them. */
function expand(value, folders) {
  let text = value.replace(/\$\{userHome\}/g, os.homedir());
  if (folders.length > 0) text = text.replace(/\$\{workspaceFolder\}/g, folders[0]);
  if (text === '~' || text.startsWith('~/') || text.startsWith('~\\')) text = path.join(os.homedir(), text.slice(1));
  return text;
}

function isExecutable(file) {
  try {
    if (!fs.statSync(file).isFile()) return false;
    if (!WINDOWS) fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function candidates(file, env) {
  if (!WINDOWS || path.extname(file)) return [file];
  const extensions = (env.PATHEXT || '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean);
  return [file, ...extensions.map((ext) => file + ext.toLowerCase())];
}

/**
 * Where the server command is: a path (absolute, or relative to the first workspace folder)
 * if the setting names one; else the first match on PATH; else the workspace's own virtual
 * environment (`.venv` or `venv`), where `pip install -e '.[lsp]'` in a clone puts it.
 * Undefined when it is nowhere.
 */
function findCommand(command, folders, env) {
  const expanded = expand(command, folders);
  if (path.isAbsolute(expanded) || expanded.includes('/') || (WINDOWS && expanded.includes('\\'))) {
    const bases = path.isAbsolute(expanded) ? [''] : folders.length > 0 ? folders : [process.cwd()];
    for (const base of bases) {
      for (const file of candidates(path.resolve(base, expanded), env)) if (isExecutable(file)) return file;
    }
    return undefined;
  }
  const dirs = (env.PATH || env.Path || '').split(path.delimiter).filter(Boolean);
  for (const folder of folders) {
    for (const venv of ['.venv', 'venv']) dirs.push(path.join(folder, venv, WINDOWS ? 'Scripts' : 'bin'));
  }
  for (const dir of dirs) {
    for (const file of candidates(path.join(dir, expanded), env)) if (isExecutable(file)) return file;
  }
  return undefined;
}

function log(line) {
  if (output) output.appendLine(line);
}

async function showMissing(command) {
  const message =
    `policydsl: the language server command "${command}" was not found; ${INSTALL_HINT} ` +
    '(or set "policydsl.server.command" to its path). Highlighting works without it.';
  log(message);
  const choice = await vscode.window.showErrorMessage(message, 'Copy install command', 'Open settings');
  if (choice === 'Copy install command') await vscode.env.clipboard.writeText(INSTALL);
  if (choice === 'Open settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'policydsl.server');
}

async function showFailed(command, args, error) {
  const detail = error && error.message ? error.message : String(error);
  const message =
    `policydsl: "${[command, ...args].join(' ')}" did not start the language server (${detail}). ` +
    `A policydsl without the lsp command? ${INSTALL_HINT} (or pip install -U). See the policydsl output for details.`;
  log(message);
  const choice = await vscode.window.showErrorMessage(message, 'Show output');
  if (choice === 'Show output' && output) output.show(true);
}

function isNotFound(error) {
  return Boolean(error) && (error.code === 'ENOENT' || /\bENOENT\b/.test(String(error.message || error)));
}

async function startClient() {
  const settings = serverSettings();
  const folders = workspaceFolders();
  const command = findCommand(settings.command, folders, process.env);
  if (!command) {
    await showMissing(settings.command);
    return undefined;
  }
  log(`Starting ${[command, ...settings.args].join(' ')}`);
  const serverOptions = {
    command,
    args: settings.args,
    transport: TransportKind.stdio,
    options: {
      cwd: folders[0],
      env: { ...process.env, ...settings.env },
    },
  };
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: LANGUAGE },
      { scheme: 'untitled', language: LANGUAGE },
    ],
    outputChannel: output,
    // the server's settings (`asOf`): given at start, and sent again whenever the `policydsl` section changes
    initializationOptions: { asOf: settings.asOf },
    synchronize: { configurationSection: 'policydsl' },
  };
  const created = new LanguageClient(LANGUAGE, 'policydsl', serverOptions, clientOptions);
  try {
    await created.start();
  } catch (error) {
    try {
      await created.stop();
    } catch {
      // it never ran
    }
    if (isNotFound(error)) await showMissing(settings.command);
    else await showFailed(command, settings.args, error);
    return undefined;
  }
  return created;
}

async function stopClient() {
  const running = client;
  client = undefined;
  if (running) {
    try {
      await running.stop();
    } catch (error) {
      log(`Stopping the server: ${error && error.message ? error.message : error}`);
    }
  }
}

/** Stop the server if it runs, and start it again with the current settings. */
function restart() {
  starting = starting.then(async () => {
    await stopClient();
    client = await startClient();
  });
  return starting;
}

function activate(context) {
  output = vscode.window.createOutputChannel('policydsl');
  context.subscriptions.push(output);
  context.subscriptions.push(vscode.commands.registerCommand('policydsl.restartServer', restart));
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('policydsl.server')) restart();
    }),
  );
  return restart();
}

async function deactivate() {
  await starting;
  await stopClient();
}

module.exports = { activate, deactivate, findCommand, INSTALL_HINT };
