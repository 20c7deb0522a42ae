// ESP8266 garage-door or gate controller for ninho (plugins/garage-door).
//
//   garage/<id>/state         open | closed | opening | closing | stopped   (retained)
//   garage/<id>/set           OPEN | CLOSE | STOP                           (from ninho)
//   garage/<id>/availability  online | offline                              (retained; offline = last will)
//   garage/<id>/obstructed    on | off
//   garage/<id>/occupancy     occupied | free                               (ultrasonic distance to the car)
//   garage/<id>/motion        on | off                                      (PIR)
//   garage/<id>/info          {"name":…,"deviceClass":"garage"|"gate"}      (retained)
//
// The opener has one push-button input: a relay pulse starts, stops or reverses it, so the
// sketch works out direction from the two reed switches at the ends of travel.
//
// Libraries: "PubSubClient" by Nick O'Leary; with USE_COAP, "CoAP simple library" by Hirotaka Niisato.
#include <ESP8266WiFi.h>
#include <PubSubClient.h>
#include "secrets.h"  // copy secrets.example.h
#ifdef USE_COAP
#include <WiFiUdp.h>
#include <coap-simple.h>
#endif

const uint8_t RELAY_PIN = D1;         // GPIO5 → relay module IN (active high), relay COM/NO across the opener's button
const uint8_t REED_OPEN_PIN = D5;     // GPIO14 → reed switch closed when the door is fully open, other leg to GND
const uint8_t REED_CLOSED_PIN = D6;   // GPIO12 → reed switch closed when the door is fully closed, other leg to GND
const uint8_t PIR_PIN = D2;           // GPIO4 ← HC-SR501 OUT (3.3 V logic even on a 5 V supply)
const uint8_t SONAR_TRIG_PIN = D7;    // GPIO13 → HC-SR04 TRIG
const uint8_t SONAR_ECHO_PIN = D0;    // GPIO16 ← HC-SR04 ECHO through a 1 kΩ / 2 kΩ divider (5 V → 3.3 V)
const uint8_t BEAM_PIN = D3;          // GPIO0 ← safety beam contact to GND that closes when the beam is broken

const unsigned long PULSE_MS = 400;
const unsigned long TRAVEL_TIMEOUT_MS = 30000;  // no end stop by then: stopped part way
const float OCCUPIED_BELOW_CM = 150;            // the car's bonnet under the ceiling sensor

WiFiClient network;
PubSubClient mqtt(network);
#ifdef USE_COAP
WiFiUDP udp;
Coap coap(udp);
#endif

String state = "";
String lastDirection = "closing";
unsigned long movingSince = 0;
bool occupied = false, motion = false, obstructed = false;
unsigned long lastSonar = 0;

String topic(const char* leaf) { return String("garage/") + DEVICE_ID + "/" + leaf; }

#ifdef USE_COAP
// The same report as CoAP telemetry, in the entities' own terms: {"door":"open"}, {"occupancy":true}…
void postCoap(const char* leaf, const String& payload) {
  String body;
  if (strcmp(leaf, "state") == 0) body = String("{\"door\":\"") + payload + "\"}";
  else if (strcmp(leaf, "occupancy") == 0) body = String("{\"occupancy\":") + (payload == "occupied" ? "true" : "false") + "}";
  else if (strcmp(leaf, "motion") == 0 || strcmp(leaf, "obstructed") == 0) body = String("{\"") + leaf + "\":" + (payload == "on" ? "true" : "false") + "}";
  else return;  // availability and info are MQTT matters
  IPAddress ninho;
  if (ninho.fromString(MQTT_HOST)) coap.post(ninho, COAP_PORT, (String("devices/") + DEVICE_ID).c_str(), (char*)body.c_str(), body.length());
}
#endif

void publish(const char* leaf, const String& payload, bool retain = false) {
  mqtt.publish(topic(leaf).c_str(), payload.c_str(), retain);
#ifdef USE_COAP
  postCoap(leaf, payload);
#endif
}

void setState(const String& next) {
  if (next == state) return;
  state = next;
  if (next == "opening" || next == "closing") {
    movingSince = millis();
    lastDirection = next;
  }
  publish("state", next, true);
}

void pulse() {
  digitalWrite(RELAY_PIN, HIGH);
  delay(PULSE_MS);
  digitalWrite(RELAY_PIN, LOW);
}

bool isOpen() { return digitalRead(REED_OPEN_PIN) == LOW; }
bool isClosed() { return digitalRead(REED_CLOSED_PIN) == LOW; }

void onCommand(char* t, byte* payload, unsigned int length) {
  String command = String((const char*)payload).substring(0, length);
  const bool moving = state == "opening" || state == "closing";
  if (command == "OPEN" && !isOpen() && state != "opening") {
    if (moving) pulse();  // stop the closing door first; the next pulse reverses it
    pulse();
    setState("opening");
  } else if (command == "CLOSE" && !isClosed() && state != "closing") {
    if (obstructed) return;  // never close onto something in the beam
    if (moving) pulse();
    pulse();
    setState("closing");
  } else if (command == "STOP" && moving) {
    pulse();
    setState("stopped");
  }
}

void connectMqtt() {
  const String availability = topic("availability");
  while (!mqtt.connected()) {
    if (mqtt.connect(DEVICE_ID, MQTT_USER, MQTT_PASSWORD, availability.c_str(), 1, true, "offline")) {
      publish("info", String("{\"name\":\"") + DEVICE_NAME + "\",\"deviceClass\":\"" + DEVICE_CLASS + "\"}", true);
      publish("availability", "online", true);
      mqtt.subscribe(topic("set").c_str(), 1);
      state = "";  // report it again after a reconnect
    } else {
      delay(2000);
    }
  }
}

float distanceCm() {
  digitalWrite(SONAR_TRIG_PIN, LOW);
  delayMicroseconds(2);
  digitalWrite(SONAR_TRIG_PIN, HIGH);
  delayMicroseconds(10);
  digitalWrite(SONAR_TRIG_PIN, LOW);
  const unsigned long echo = pulseIn(SONAR_ECHO_PIN, HIGH, 30000);
  return echo == 0 ? 999 : echo / 58.0;
}

void readSensors() {
  if (isOpen()) setState("open");
  else if (isClosed()) setState("closed");
  else if ((state == "opening" || state == "closing") && millis() - movingSince > TRAVEL_TIMEOUT_MS) setState("stopped");
  else if (state == "") setState("stopped");  // booted part way

  const bool nowMotion = digitalRead(PIR_PIN) == HIGH;
  if (nowMotion != motion) publish("motion", (motion = nowMotion) ? "on" : "off");
  const bool nowObstructed = digitalRead(BEAM_PIN) == LOW;
  if (nowObstructed != obstructed) publish("obstructed", (obstructed = nowObstructed) ? "on" : "off");
  if (millis() - lastSonar > 1000) {
    lastSonar = millis();
    const bool nowOccupied = distanceCm() < OCCUPIED_BELOW_CM;
    if (nowOccupied != occupied) publish("occupancy", (occupied = nowOccupied) ? "occupied" : "free");
  }
}

void setup() {
  pinMode(RELAY_PIN, OUTPUT);
  digitalWrite(RELAY_PIN, LOW);
  pinMode(REED_OPEN_PIN, INPUT_PULLUP);
  pinMode(REED_CLOSED_PIN, INPUT_PULLUP);
  pinMode(PIR_PIN, INPUT);
  pinMode(SONAR_TRIG_PIN, OUTPUT);
  pinMode(SONAR_ECHO_PIN, INPUT);
  pinMode(BEAM_PIN, INPUT_PULLUP);
  WiFi.mode(WIFI_STA);
  WiFi.begin(WIFI_SSID, WIFI_PASSWORD);
  while (WiFi.status() != WL_CONNECTED) delay(250);
  mqtt.setServer(MQTT_HOST, MQTT_PORT);
  mqtt.setCallback(onCommand);
#ifdef USE_COAP
  coap.start();
#endif
}

void loop() {
  if (!mqtt.connected()) connectMqtt();
  mqtt.loop();
  readSensors();
#ifdef USE_COAP
  coap.loop();
#endif
}
