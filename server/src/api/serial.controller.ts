import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { SerialPort } from 'serialport';

export interface SerialPortView {
  path: string;
  /** Stable names under /dev/serial/by-id that point at this port, when udev made any. */
  byId?: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
}

const SERIAL_DEVICE = /^tty(USB|ACM|AMA|S|MFD|O|XRUSB|WCH)\d+$|^rfcomm\d+$/;

async function hasUdevadm(): Promise<boolean> {
  return promisify(execFile)('udevadm', ['--version']).then(
    () => true,
    () => false,
  );
}

/**
 * Without udevadm (containers), serialport's list() crashes the process: it spawns
 * udevadm with no 'error' handler (@serialport/bindings-cpp 13). There we read /dev.
 */
async function listPorts(): Promise<SerialPortView[]> {
  if (await hasUdevadm()) {
    return (await SerialPort.list()).map(({ path: p, manufacturer, serialNumber, vendorId, productId, pnpId }) => ({
      path: p,
      ...(pnpId ? { byId: `/dev/serial/by-id/${pnpId}` } : {}),
      ...(manufacturer ? { manufacturer } : {}),
      ...(serialNumber ? { serialNumber } : {}),
      ...(vendorId ? { vendorId } : {}),
      ...(productId ? { productId } : {}),
    }));
  }
  const byId = new Map<string, string>();
  const byIdDir = '/dev/serial/by-id';
  for (const name of fs.existsSync(byIdDir) ? fs.readdirSync(byIdDir) : []) {
    byId.set(fs.realpathSync(path.join(byIdDir, name)), path.join(byIdDir, name));
  }
  return fs
    .readdirSync('/dev')
    .filter((name) => SERIAL_DEVICE.test(name))
    .map((name) => path.join('/dev', name))
    .filter((p) => !/^\/dev\/ttyS\d+$/.test(p) || byId.has(p)) // the 32 legacy ttyS* exist on every PC
    .sort()
    .map((p) => ({ path: p, ...(byId.has(p) ? { byId: byId.get(p) } : {}) }));
}

@ApiTags('serial')
@Controller('serial')
export class SerialController {
  @Get('ports')
  @ApiOperation({ summary: 'Serial ports on this machine, for configuring the serial-sensor plugin' })
  ports(): Promise<SerialPortView[]> {
    return listPorts();
  }
}
