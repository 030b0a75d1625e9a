// The language database is large; only runs that count languages load it.
type LanguageModule = typeof import('./detectLanguage');
let languageModule: LanguageModule | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const languages = (): LanguageModule => (languageModule ??= require('./detectLanguage') as LanguageModule);
