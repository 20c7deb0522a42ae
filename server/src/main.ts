import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { answerMalformedJson } from './api/error.filter';
import { AppModule } from './app.module';
import { BrokerService } from './broker/broker.service';
import { CoapService } from './coap/coap.service';
import { loadConfig } from './config/config.loader';
import type { Config } from './config/config.schema';
import { ListenError } from './listen';
import { StartupError } from './startup-error';
import { WEB_DIST_DIR } from './paths';
import type { NextFunction, Request, Response } from 'express';

const LEVELS: Record<Config['logLevel'], LogLevel[]> = {
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  info: ['fatal', 'error', 'warn', 'log'],
  warn: ['fatal', 'error', 'warn'],
  error: ['fatal', 'error'],
};

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: LEVELS[config.logLevel],
    abortOnError: false,
    bodyParser: false,
  });
  // Our own JSON parser, so that a malformed body is answered right after it, saying so.
  app.useBodyParser('json', { limit: '1mb' });
  app.use(answerMalformedJson);
  serveDashboard(app);
  app.setGlobalPrefix('api');
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder().setTitle('ninho').setDescription('ninho home automation API').setVersion('0.1.0').build(),
  );
  SwaggerModule.setup('api/docs', app, cleanupOpenApiDoc(document));

  // init() runs the modules' start-up (broker, CoAP, plugins) first, so their own
  // ListenErrors are not mistaken for the HTTP port's.
  await app.init();
  await app.listen(config.http.port, config.host).catch((error: NodeJS.ErrnoException) => {
    throw error.code ? new ListenError('HTTP', config.http.port, error.code) : error;
  });
  const address = app.getHttpServer().address() as { port: number };
  const mqttPort = app.get(BrokerService).port;
  const coapPort = app.get(CoapService).port;
  // Tests and scripts parse this line for the ports actually bound.
  const logger = new Logger('ninho');
  // Nest's enableShutdownHooks re-raises the signal, so a clean stop would exit "killed";
  // we close (flushing history, closing the broker) and exit 0 instead.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.log(`${signal}: shutting down`);
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error('ninho: error during shutdown:', error);
          process.exit(1);
        },
      );
    });
  }
  const mqttsPort = app.get(BrokerService).tlsPort;
  logger.log(
    `ready http=${address.port} mqtt=${mqttPort} coap=${coapPort}${mqttsPort === undefined ? '' : ` mqtts=${mqttsPort}`} data=${config.dataDir}`,
  );
}

/** The Svelte dashboard at /, with its client-side routes answered by index.html. */
function serveDashboard(app: NestExpressApplication): void {
  const index = path.join(WEB_DIST_DIR, 'index.html');
  if (!fs.existsSync(index)) {
    new Logger('ninho').warn(`dashboard not built (${index} is missing): run npm run build`);
    return;
  }
  app.useStaticAssets(WEB_DIST_DIR, { index: 'index.html', maxAge: '1h' });
  app.use((request: Request, response: Response, next: NextFunction) => {
    const own = request.path.startsWith('/api') || request.path.startsWith('/mqtt');
    if (request.method === 'GET' && !own && request.accepts('html')) response.sendFile(index);
    else next();
  });
}

// A promise some plugin or library forgot to handle is a bug to log, not a reason to
// take every device in the house offline (Node's default is to exit).
process.on('unhandledRejection', (reason) => {
  new Logger('ninho').error(`unhandled promise rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
});

main().catch((error: unknown) => {
  // Expected start-up failures get one clear line, not a stack trace.
  if (error instanceof StartupError) {
    console.error(`ninho: ${error.message}`);
  } else {
    console.error('ninho: failed to start:', error);
  }
  process.exit(1);
});
