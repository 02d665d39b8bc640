// The shared runtime modules in one place, for code written before they were split (see shared/).
export { packageSettings, storePath, openStore, type PackageSettings } from './shared/settings';
export { ThrottledStatus } from './shared/status';
export { onInput, evaluateProperty } from './shared/typed-input';
export { whenFlowsStarted } from './shared/lifecycle';
export { shown, type Send, type Done, type Translate } from './shared/ports';
export { DEFAULT_LANGUAGE, languagesFor, runtimeLanguage, messages } from './shared/i18n';
