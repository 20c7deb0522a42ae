-- AlterTable
ALTER TABLE "Device" ADD COLUMN "removedAt" DATETIME;

