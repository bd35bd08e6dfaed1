import { existsSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { KeystreamConfig } from '@keystream/config';
import { Public } from '../http/auth.guard';
import { problem, PROBLEM_CONTENT_TYPE } from '../http/problem';
import { CONFIG } from '../tokens';
import { AdminUiCsp } from './admin-ui-csp';

const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

/**
 * dist/admin-ui, seen from the built server (dist/apps/command-api/src/admin-ui) or from the sources (ts-jest,
 * ts-node).
 */
function uiDir(): string | undefined {
  const candidates = [
    resolve(__dirname, '..', '..', '..', '..', 'admin-ui'),
    resolve(__dirname, '..', '..', '..', '..', 'dist', 'admin-ui'),
  ];
  return candidates.find((d) => existsSync(join(d, 'index.html')));
}

/**
 * The admin UI (apps/admin-ui, built by Vite into dist/admin-ui) at /admin: static files, and index.html for any
 * other path below /admin (client-side routes). The files are public; every API call the page makes needs the
 * admin's bearer token.
 */
@ApiExcludeController()
@Public()
@Controller('admin')
export class AdminUiController {
  private readonly csp: AdminUiCsp;

  constructor(@Inject(CONFIG) config: KeystreamConfig) {
    this.csp = new AdminUiCsp(config.auth.ui ? config.auth.issuer : undefined);
  }

  @Get()
  async index(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.serve(req, res);
  }

  @Get('*path')
  async file(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.serve(req, res);
  }

  private async serve(req: Request, res: Response): Promise<void> {
    res.setHeader('Content-Security-Policy', await this.csp.value());
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const dir = uiDir();
    if (!dir) return notFound(req, res, 'admin_ui_not_built', 'The admin UI is not built: run `npm run build`');
    let rel: string;
    try {
      rel = decodeURIComponent(req.path.replace(/^\/admin\/?/, ''));
    } catch {
      return notFound(req, res, 'not_found', 'No such file');
    }
    if (rel.includes('\0') || rel.split(/[\\/]/).some((s) => s === '..' || s.startsWith('.')))
      return notFound(req, res, 'not_found', 'No such file');
    const file = resolve(dir, rel);
    const isFile = file.startsWith(dir + sep) && existsSync(file) && statSync(file).isFile();
    if (!isFile && /\.[A-Za-z0-9]+$/.test(rel)) return notFound(req, res, 'not_found', 'No such file');
    const target = isFile ? file : join(dir, 'index.html');
    // Hashed bundles never change under their name; index.html must always be revalidated to pick up a new build.
    const immutable = isFile && rel.startsWith('assets/');
    res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    res.sendFile(target, { dotfiles: 'deny', cacheControl: false, lastModified: true }, (err?: Error) => {
      if (err && !res.headersSent) notFound(req, res, 'not_found', 'No such file');
    });
  }
}

function notFound(req: Request, res: Response, code: string, detail: string): void {
  res
    .status(404)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify({ ...problem(404, code, 'Not found', detail), instance: req.originalUrl.split('?')[0] }));
}
