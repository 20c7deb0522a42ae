// Copy to secrets.h (git ignores it) and fill in your own values.
#pragma once

#define WIFI_SSID "my-wifi"
#define WIFI_PASSWORD "my-wifi-password"

#define MQTT_HOST "192.168.1.10"  // the machine running ninho
#define MQTT_PORT 1883
#define MQTT_USER ""
#define MQTT_PASSWORD ""

#define DEVICE_ID "garage-1"       // garage/<DEVICE_ID>/...
#define DEVICE_NAME "Garage"
#define DEVICE_CLASS "garage"      // or "gate"

// Optional: also report over CoAP to ninho's endpoint (POST /devices/<id>), e.g. from a
// network where MQTT is blocked. Commands still arrive over MQTT.
// #define USE_COAP
#define COAP_PORT 5683
