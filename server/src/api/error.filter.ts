import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { CommandError } from '@ninho/plugin-sdk';
import type { NextFunction, Request, Response } from 'express';
import { ZodValidationException } from 'nestjs-zod';
import { ZodError } from 'zod';
import { NotFoundError, ReadOnlyEntityError } from '../devices/device.errors';
import { PluginConflictError, PluginValidationError } from '../plugins/plugin.errors';
import { RuleConflictError, RuleValidationError } from '../rules/rule.errors';

interface ErrorBody {
  message: string;
  errors?: Array<{ path: string; message: string }>;
}

const COMMAND_STATUS: Record<CommandError['reason'], number> = { offline: 409, rejected: 400, timeout: 504, unsupported: 405, failed: 502 };

/** Turns every error into `{ message, errors? }`; unknown errors never leak a stack trace (Immich's rule). */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Http');

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const [status, body] = this.map(error);
    if (status >= 500) this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    response.status(status).json(body);
  }

  private map(error: unknown): [number, ErrorBody] {
    if (error instanceof ZodValidationException) {
      const zodError = error.getZodError();
      const errors =
        zodError instanceof ZodError
          ? zodError.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }))
          : [];
      return [400, { message: `invalid request: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors }];
    }
    if (error instanceof NotFoundError) return [404, { message: error.message }];
    if (error instanceof PluginConflictError) return [409, { message: error.message }];
    if (error instanceof PluginValidationError || error instanceof RuleValidationError)
      return [400, { message: error.message, errors: error.errors }];
    if (error instanceof RuleConflictError) return [409, { message: error.message }];
    if (error instanceof ReadOnlyEntityError) return [405, { message: error.message }];
    if (error instanceof CommandError) return [COMMAND_STATUS[error.reason], { message: error.message }];
    if (error instanceof HttpException) {
      const response = error.getResponse();
      const message = typeof response === 'string' ? response : error.message;
      return [error.getStatus(), { message }];
    }
    return [500, { message: 'internal server error' }];
  }
}

/**
 * Express error middleware for body-parser's failures (malformed JSON, a body over the
 * limit): Nest would turn them into a bare "Unexpected end of JSON input".
 */
export function answerMalformedJson(error: unknown, _request: Request, response: Response, next: NextFunction): void {
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'entity.parse.failed' && error instanceof Error) {
    response.status(400).json({ message: `body is not valid JSON: ${error.message}` } satisfies ErrorBody);
  } else if (type === 'entity.too.large') {
    response.status(413).json({ message: 'body is larger than 1 MB' } satisfies ErrorBody);
  } else {
    next(error);
  }
}
