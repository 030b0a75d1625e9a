// The vscode-languageserver-node packages (v11) name their entry points only in package.json
// "exports", which TypeScript's classic "node" module resolution (this project's tsconfig) does
// not read. These declarations point the type checker at the same files; at run time Node,
// tsx and esbuild resolve through "exports" as usual.
declare module 'vscode-jsonrpc' { export * from 'vscode-jsonrpc/lib/common/api'; }
declare module 'vscode-jsonrpc/node' { export * from 'vscode-jsonrpc/lib/node/main'; }
declare module 'vscode-languageserver-protocol' { export * from 'vscode-languageserver-protocol/lib/common/api'; }
declare module 'vscode-languageserver-protocol/node' { export * from 'vscode-languageserver-protocol/lib/node/main'; }
declare module 'vscode-languageserver' { export * from 'vscode-languageserver/lib/common/api'; }
declare module 'vscode-languageserver/node' { export * from 'vscode-languageserver/lib/node/main'; }
declare module 'vscode-languageclient' { export * from 'vscode-languageclient/lib/common/api'; }
declare module 'vscode-languageclient/node' { export * from 'vscode-languageclient/lib/node/main'; }
