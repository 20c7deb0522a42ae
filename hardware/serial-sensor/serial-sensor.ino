// Arduino serial sensor for ninho (plugins/serial-sensor): newline-delimited JSON over USB serial.
//
//   Arduino → ninho   {"id":"bench-1","temperature":22.5,"humidity":41,"power":"OFF"}   every 10 s
//   ninho → Arduino   {"id":"bench-1","cmd":"ON","entity":"power"}                      switches the relay
//
// Libraries: "ArduinoJson" by Benoit Blanchon (v7), "DHT sensor library" by Adafruit.
// Board: Arduino Uno or Nano (5 V). There is no network, so no secrets.h: the settings are here.
#include <ArduinoJson.h>
#include <DHT.h>

const char DEVICE_ID[] = "bench-1";
const long BAUD = 115200;                 // ninho's default for a serial port
const uint8_t DHT_PIN = 2;                // DHT11 DATA, 10 kΩ pull-up to 5 V
const uint8_t RELAY_PIN = 7;              // relay module IN
const unsigned long REPORT_EVERY_MS = 10000;

DHT dht(DHT_PIN, DHT11);
bool power = false;
unsigned long lastReport = 0;
char line[128];
size_t lineLength = 0;

void report() {
  JsonDocument reading;
  reading["id"] = DEVICE_ID;
  const float temperature = dht.readTemperature();
  const float humidity = dht.readHumidity();
  if (!isnan(temperature)) reading["temperature"] = temperature;
  if (!isnan(humidity)) reading["humidity"] = humidity;
  reading["power"] = power ? "ON" : "OFF";
  serializeJson(reading, Serial);
  Serial.print('\n');
}

void onLine(const char* text) {
  JsonDocument command;
  if (deserializeJson(command, text) != DeserializationError::Ok) return;  // noise: ignore it
  if (strcmp(command["id"] | "", DEVICE_ID) != 0) return;
  const char* cmd = command["cmd"] | "";
  if (strcmp(cmd, "ON") == 0) power = true;
  else if (strcmp(cmd, "OFF") == 0) power = false;
  else return;
  digitalWrite(RELAY_PIN, power ? HIGH : LOW);
  report();  // ninho waits for this to confirm the command
}

void setup() {
  pinMode(RELAY_PIN, OUTPUT);
  digitalWrite(RELAY_PIN, LOW);
  Serial.begin(BAUD);
  dht.begin();
}

void loop() {
  while (Serial.available() > 0) {
    const char c = Serial.read();
    if (c == '\n') {
      line[lineLength] = '\0';
      onLine(line);
      lineLength = 0;
    } else if (lineLength < sizeof line - 1) {
      line[lineLength++] = c;
    } else {
      lineLength = 0;  // an overlong line is dropped whole
    }
  }
  if (millis() - lastReport >= REPORT_EVERY_MS) {
    lastReport = millis();
    report();
  }
}
