-- CreateTable
CREATE TABLE "Device" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "pluginId" TEXT NOT NULL,
    "transport" TEXT NOT NULL,
    "model" TEXT,
    "manufacturer" TEXT,
    "online" BOOLEAN NOT NULL DEFAULT false,
    "lastSeen" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Entity" (
    "ref" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "id" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "unit" TEXT,
    "deviceClass" TEXT,
    "state" TEXT,
    "stateAt" DATETIME,
    CONSTRAINT "Entity_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Reading" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "entityRef" INTEGER NOT NULL,
    "ts" BIGINT NOT NULL,
    "value" REAL,
    "text" TEXT,
    CONSTRAINT "Reading_entityRef_fkey" FOREIGN KEY ("entityRef") REFERENCES "Entity" ("ref") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "HourlyRollup" (
    "entityRef" INTEGER NOT NULL,
    "hour" BIGINT NOT NULL,
    "min" REAL NOT NULL,
    "max" REAL NOT NULL,
    "sum" REAL NOT NULL,
    "count" INTEGER NOT NULL,

    PRIMARY KEY ("entityRef", "hour"),
    CONSTRAINT "HourlyRollup_entityRef_fkey" FOREIGN KEY ("entityRef") REFERENCES "Entity" ("ref") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "Entity_id_key" ON "Entity"("id");

-- CreateIndex
CREATE UNIQUE INDEX "Entity_deviceId_key_key" ON "Entity"("deviceId", "key");

-- CreateIndex
CREATE INDEX "Reading_entityRef_ts_idx" ON "Reading"("entityRef", "ts");

