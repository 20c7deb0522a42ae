import 'reflect-metadata';
import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { AppModule } from './app.module';
import { BrokerService } from './broker/broker.service';
import { CoapService } from './coap/coap.service';
import { ConfigError, loadConfig } from './config/config.loader';
import type { Config } from './config/config.schema';
import { MigrationError } from './database/migrator';
import { ListenError } from './listen';

const LEVELS: Record<Config['logLevel'], LogLevel[]> = {
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  info: ['fatal', 'error', 'warn', 'log'],
  warn: ['fatal', 'error', 'warn'],
  error: ['fatal', 'error'],
};

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await NestFactory.create(AppModule.forRoot(config), { logger: LEVELS[config.logLevel], abortOnError: false });
  app.setGlobalPrefix('api');
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('ninho').setDescription('ninho home automation API').setVersion('0.1.0').build());
  SwaggerModule.setup('api/docs', app, cleanupOpenApiDoc(document));

  await app.listen(config.http.port, config.host).catch((error: NodeJS.ErrnoException) => {
    throw new ListenError('HTTP', config.http.port, error.code);
  });
  const address = app.getHttpServer().address() as { port: number };
  const mqttPort = app.get(BrokerService).port;
  const coapPort = app.get(CoapService).port;
  // Tests and scripts parse this line for the ports actually bound.
  new Logger('ninho').log(`ready http=${address.port} mqtt=${mqttPort} coap=${coapPort} data=${config.dataDir}`);
}

main().catch((error: unknown) => {
  // Expected start-up failures get one clear line, not a stack trace.
  if (error instanceof ConfigError || error instanceof ListenError || error instanceof MigrationError) {
    console.error(`ninho: ${error.message}`);
  } else {
    console.error('ninho: failed to start:', error);
  }
  process.exit(1);
});
