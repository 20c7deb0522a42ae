-- CreateTable
CREATE TABLE "PluginSetting" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "options" TEXT,
    "updatedAt" DATETIME NOT NULL
);

