// Copy to secrets.h (git ignores it) and fill in your own values.
#pragma once

#define WIFI_SSID "my-wifi"
#define WIFI_PASSWORD "my-wifi-password"

#define MQTT_HOST "192.168.1.10"  // the machine running ninho
#define MQTT_PORT 1883
#define MQTT_USER ""              // empty while ninho allows anonymous clients
#define MQTT_PASSWORD ""

#define DEVICE_TOPIC "kitchen-dht"  // the ninho device id: tele/<DEVICE_TOPIC>/SENSOR
