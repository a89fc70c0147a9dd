// Package anomalies serves the hall's anomaly queue and the open-anomaly
// gauges of /metrics.
package anomalies
