import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, UploadedFile, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import { ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ZodValidationException } from 'nestjs-zod';
import { PluginHostService, type PluginInfo } from '../plugins/plugin-host.service';
import { PluginInstallerService } from '../plugins/plugin-installer.service';
import { InstallPluginSchema, PatchPluginDto, RemovePluginQueryDto } from './api.schemas';

/** What multer hands over for an uploaded file (memory storage). */
interface UploadedPackage {
  buffer: Buffer;
  originalname: string;
}

const MAX_PACKAGE_BYTES = 50 * 1024 * 1024;

@ApiTags('plugins')
@Controller('plugins')
export class PluginsController {
  constructor(
    private readonly host: PluginHostService,
    private readonly installer: PluginInstallerService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every plugin found, with its status and, when it failed, why' })
  list(): PluginInfo[] {
    return this.host.list();
  }

  @Post()
  @ApiConsumes('application/json', 'multipart/form-data')
  @UseInterceptors(FileInterceptor('package', { limits: { fileSize: MAX_PACKAGE_BYTES, files: 1 } }))
  @ApiOperation({
    summary:
      'Install or update a plugin: JSON {"source":"npm","spec":"…"} or {"source":"folder","path":"…"}, or a .tgz uploaded as the form field "package". Progress events go out on /api/live.',
  })
  async install(@UploadedFile() file: UploadedPackage | undefined, @Body() body: unknown): Promise<PluginInfo> {
    if (file) return this.installer.install({ type: 'tgz', data: file.buffer });
    const parsed = InstallPluginSchema.safeParse(body);
    if (!parsed.success) throw new ZodValidationException(parsed.error);
    return this.installer.install(
      parsed.data.source === 'npm' ? { type: 'npm', spec: parsed.data.spec } : { type: 'folder', path: parsed.data.path },
    );
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Enable or disable a plugin, or set its options (checked against its schema)' })
  async update(@Param('id') id: string, @Body() body: PatchPluginDto): Promise<PluginInfo> {
    let info = this.host.get(id);
    if (body.options !== undefined) info = await this.host.setOptions(id, body.options);
    if (body.enabled !== undefined) info = await this.host.setEnabled(id, body.enabled);
    return info;
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({ summary: "Remove an installed plugin; its devices' history is kept unless ?purge=true" })
  remove(@Param('id') id: string, @Query() query: RemovePluginQueryDto): Promise<{ id: string; purgedDevices: string[] }> {
    return this.installer.remove(id, query.purge);
  }
}
