import { describe, expect, it } from 'vitest';
import { resolveServerUrl } from './url';

describe('resolveServerUrl', () => {
  it('resolves a relative URL below the Jupyter base URL (jupyter-server-proxy)', () => {
    expect(resolveServerUrl('proxy/8787/', 'http://127.0.0.1:8888/')).toBe('http://127.0.0.1:8888/proxy/8787/');
    expect(resolveServerUrl('proxy/8787', 'https://hub.example.com/user/ana/')).toBe(
      'https://hub.example.com/user/ana/proxy/8787/',
    );
  });
  it('resolves a leading slash against the origin (JupyterHub service)', () => {
    expect(resolveServerUrl('/services/plinth/', 'https://hub.example.com/user/ana/')).toBe(
      'https://hub.example.com/services/plinth/',
    );
  });
  it('keeps an absolute URL and adds the trailing slash', () => {
    expect(resolveServerUrl('http://10.0.0.5:8787', 'http://127.0.0.1:8888/')).toBe('http://10.0.0.5:8787/');
  });
  it('falls back to the default for an empty setting', () => {
    expect(resolveServerUrl('  ', 'http://127.0.0.1:8888/lab-base')).toBe('http://127.0.0.1:8888/lab-base/proxy/8787/');
  });
});
