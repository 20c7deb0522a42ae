// ESP8266 + DHT11 temperature/humidity sensor for ninho, on the Tasmota MQTT convention
// (plugins/esp8266-dht11): a stock Tasmota device and this sketch look the same to ninho.
//
//   tele/<topic>/SENSOR  {"DHT11":{"Temperature":22.6,"Humidity":32.4},"TempUnit":"C"}
//   tele/<topic>/LWT     Online | Offline   (retained; Offline is the last will)
//
// Libraries (Arduino library manager): "PubSubClient" by Nick O'Leary,
// "DHT sensor library" by Adafruit (with "Adafruit Unified Sensor").
// Board: "LOLIN(WEMOS) D1 mini" or "NodeMCU 1.0" from the ESP8266 core.
#include <ESP8266WiFi.h>
#include <PubSubClient.h>
#include <DHT.h>
#include "secrets.h"  // copy secrets.example.h

const uint8_t DHT_PIN = D4;                 // GPIO2, with a 10 kΩ pull-up to 3.3 V
const unsigned long REPORT_EVERY_MS = 10000;  // a DHT11 needs at least 1 s between reads

DHT dht(DHT_PIN, DHT11);
WiFiClient network;
PubSubClient mqtt(network);
unsigned long lastReport = 0;

String topic(const char* prefix, const char* leaf) {
  return String(prefix) + "/" + DEVICE_TOPIC + "/" + leaf;
}

void connectWifi() {
  WiFi.mode(WIFI_STA);
  WiFi.begin(WIFI_SSID, WIFI_PASSWORD);
  while (WiFi.status() != WL_CONNECTED) delay(250);
}

void connectMqtt() {
  const String lwt = topic("tele", "LWT");
  while (!mqtt.connected()) {
    // Client id = device topic; last will: retained "Offline", as Tasmota does.
    if (mqtt.connect(DEVICE_TOPIC, MQTT_USER, MQTT_PASSWORD, lwt.c_str(), 1, true, "Offline")) {
      mqtt.publish(lwt.c_str(), "Online", true);
    } else {
      delay(2000);
    }
  }
}

void report() {
  const float temperature = dht.readTemperature();
  const float humidity = dht.readHumidity();
  if (isnan(temperature) || isnan(humidity)) return;  // a failed read: skip it, never send garbage
  char payload[96];
  snprintf(payload, sizeof payload, "{\"DHT11\":{\"Temperature\":%.1f,\"Humidity\":%.1f},\"TempUnit\":\"C\"}", temperature, humidity);
  mqtt.publish(topic("tele", "SENSOR").c_str(), payload);
}

void setup() {
  dht.begin();
  connectWifi();
  mqtt.setServer(MQTT_HOST, MQTT_PORT);
}

void loop() {
  if (WiFi.status() != WL_CONNECTED) connectWifi();
  if (!mqtt.connected()) connectMqtt();
  mqtt.loop();
  if (millis() - lastReport >= REPORT_EVERY_MS) {
    lastReport = millis();
    report();
  }
}
