import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';

export interface PluginSetting {
  enabled: boolean;
  /** Options set over the API; they win over ninho.yaml's plugins.options. */
  options?: Record<string, unknown>;
}

@Injectable()
export class PluginSettingsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async loadAll(): Promise<Map<string, PluginSetting>> {
    const rows = await this.prisma.pluginSetting.findMany();
    return new Map(
      rows.map((row) => [
        row.id,
        { enabled: row.enabled, ...(row.options === null ? {} : { options: JSON.parse(row.options) as Record<string, unknown> }) },
      ]),
    );
  }

  async save(id: string, setting: PluginSetting): Promise<void> {
    const data = { enabled: setting.enabled, options: setting.options === undefined ? null : JSON.stringify(setting.options) };
    await this.prisma.pluginSetting.upsert({ where: { id }, create: { id, ...data }, update: data });
  }

  async remove(id: string): Promise<void> {
    await this.prisma.pluginSetting.deleteMany({ where: { id } });
  }
}
