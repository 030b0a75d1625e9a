// The app's only link to its host: a message channel. In a VS Code webview it is the API from
// acquireVsCodeApi(); on a plain page (the org dashboard) it is window.postMessage inside a
// PageEnvelope. Both directions are validated here, so the app only ever sees declared messages.
import {
  PAGE_CHANNEL,
  openPageEnvelope,
  validateHostMessage,
  validateViewMessage,
  type HostMessage,
  type PageEnvelope,
  type ViewMessage,
} from '../protocol/webview';

export interface HostChannel {
  post(message: ViewMessage): void;
  /** Subscribes to validated host messages; invalid ones go to `onInvalid`. Returns an unsubscribe. */
  listen(onMessage: (m: HostMessage) => void, onInvalid: (error: Error) => void): () => void;
  /** Small per-view state kept by the host across reloads (VS Code's setState), if it can. */
  saveState(state: unknown): void;
  loadState(): unknown;
}

interface VsCodeApi {
  postMessage(message: unknown): void;
  setState(state: unknown): void;
  getState(): unknown;
}
declare const acquireVsCodeApi: undefined | (() => VsCodeApi);

function listenWindow(win: Window, unwrap: (e: MessageEvent) => unknown | undefined, onMessage: (m: HostMessage) => void, onInvalid: (error: Error) => void): () => void {
  const handler = (e: MessageEvent) => {
    const raw = unwrap(e);
    if (raw === undefined) return;
    let msg: HostMessage;
    try {
      msg = validateHostMessage(raw);
    } catch (err) {
      onInvalid(err as Error);
      return;
    }
    onMessage(msg);
  };
  win.addEventListener('message', handler);
  return () => win.removeEventListener('message', handler);
}

export function vscodeChannel(api: VsCodeApi, win: Window = window): HostChannel {
  return {
    post: (m) => api.postMessage(validateViewMessage(m)),
    // VS Code's outer webview frame re-posts host messages to this frame with its own origin.
    listen: (onMessage, onInvalid) => listenWindow(win, (e) => (e.origin === win.location.origin || e.source === win.parent ? e.data : undefined), onMessage, onInvalid),
    saveState: (s) => api.setState(s),
    loadState: () => api.getState(),
  };
}

/** A plain page: host script and app share this window; only same-origin envelopes count. */
export function pageChannel(win: Window = window): HostChannel {
  let state: unknown;
  return {
    post: (m) => {
      const envelope: PageEnvelope = { channel: PAGE_CHANNEL, direction: 'toHost', message: validateViewMessage(m) };
      win.postMessage(envelope, win.location.origin);
    },
    listen: (onMessage, onInvalid) =>
      listenWindow(win, (e) => (e.origin === win.location.origin && e.source === win ? openPageEnvelope(e.data, 'toView') : undefined), onMessage, onInvalid),
    saveState: (s) => {
      state = s;
      try {
        win.sessionStorage.setItem(PAGE_CHANNEL, JSON.stringify(s));
      } catch {
        /* storage disabled: state lives for this page only */
      }
    },
    loadState: () => {
      if (state !== undefined) return state;
      try {
        const s = win.sessionStorage.getItem(PAGE_CHANNEL);
        return s ? JSON.parse(s) : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** The channel of the host this bundle runs in. */
export function detectChannel(): HostChannel {
  return typeof acquireVsCodeApi === 'function' ? vscodeChannel(acquireVsCodeApi()) : pageChannel();
}
