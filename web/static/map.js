/* Pintu dashboard map (/peta) and the review page's small maps: plain ES, no build step.
   Texts, colours and settings come from the page (<script type="application/json" id="map-data">);
   data from /api/peta/... (web/map_routes.py). Nothing is loaded from another site unless the operator
   set a tile server (PINTU_TILE_URL). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("map-data").textContent);
  var T = data.texts || {};

  function text(key, values) {
    var found = T[key] !== undefined ? T[key] : key;
    return found.replace(/\{(\w+)\}/g, function (_, name) { return values && values[name] !== undefined ? values[name] : ""; });
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; }
      else if (k === "style") { node.style.cssText = attrs[k]; }  // CSSOM: the page's CSP forbids style attributes
      else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    });
  }
  function percent(share) { return Math.round(share * 100); }
  function baseMap(node, options) {
    options = options || {};
    options.maxZoom = 19;  // without a tile layer Leaflet knows no zoom limits (the clusters need one)
    options.minZoom = 3;
    var map = L.map(node, options);
    if (data.tiles && data.tiles.url) {
      L.tileLayer(data.tiles.url, { attribution: data.tiles.attribution || "", maxZoom: 19 }).addTo(map);
    }
    return map;
  }
  function dl(rows) {
    var list = el("dl");
    rows.forEach(function (row) { list.appendChild(el("dt", { text: row[0] })); list.appendChild(el("dd", { text: String(row[1]) })); });
    return list;
  }
  function countsList(p) {
    return dl([[text("families"), p.families], [text("booked"), p.booked], [text("visited"), p.visited],
               [text("completed"), p.completed], [text("done"), p.done + " (" + percent(p.share) + "%)"]]);
  }

  // --- the review page: one small map per item ------------------------------------------------------
  if (data.review) {
    document.querySelectorAll(".map.small[data-lat]").forEach(function (node) {
      var at = [parseFloat(node.dataset.lat), parseFloat(node.dataset.lon)];
      var map = baseMap(node, { zoomControl: true, attributionControl: !!(data.tiles && data.tiles.url) });
      var bounds = L.latLngBounds([at, at]);
      if (node.dataset.boundary) {
        var outline = L.geoJSON(JSON.parse(node.dataset.boundary), { style: { color: "#0b4f8a", weight: 2, fillOpacity: 0.05 } });
        outline.addTo(map);
        bounds.extend(outline.getBounds());  // a point flagged outside its SLS: both in view
      }
      map.fitBounds(bounds, { padding: [16, 16], maxZoom: 17 });
      var colour = node.dataset.flagged === "1" ? data.flag_colour : "#0b4f8a";
      L.circleMarker(at, { radius: 8, color: colour, weight: 3, fillColor: colour, fillOpacity: 0.6,
                           className: "review-point" }).addTo(map);
    });
    return;
  }

  // --- the map page ---------------------------------------------------------------------------------
  var status = document.getElementById("map-status");  // the area's summary
  var hint = document.getElementById("map-hint");  // what zooming in shows, or what is shown
  var map = baseMap("map", { preferCanvas: false });
  var slsLayer = null;
  var detailed = {};  // kelurahan code -> its outlines at full detail
  var loaded = {};  // kelurahan code -> true once its families and routes are asked for
  var points = L.markerClusterGroup({ disableClusteringAtZoom: 17, showCoverageOnHover: false, chunkedLoading: true });
  var routes = L.layerGroup();
  var centres = L.layerGroup();
  points.addTo(map); routes.addTo(map); centres.addTo(map);

  function slsStyle(feature) {
    return { className: "sls", color: "#374151", weight: 1, fillColor: feature.properties.colour, fillOpacity: 0.7 };
  }
  function onSls(feature, layer) {
    var p = feature.properties;
    layer.bindTooltip(p.name + (p.village_name ? " · " + p.village_name : ""), { sticky: true });
    layer.on("add", function () {  // reachable with the keyboard: Tab to an SLS, Enter to open it
      var path = layer.getElement();
      if (!path) { return; }
      path.setAttribute("tabindex", "0");
      path.setAttribute("role", "button");
      path.setAttribute("aria-label", p.name + (p.village_name ? ", " + p.village_name : "") + ": " + percent(p.share) + "%");
      path.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); layer.fire("click"); } });
    });
    layer.on("click", function () {
      map.fitBounds(layer.getBounds(), { maxZoom: 18 });
      var box = el("div", { class: "map-popup" }, [el("strong", { text: p.name + " (" + p.code + ")" })]);
      if (p.village_name) { box.appendChild(el("div", { text: p.village_name })); }
      box.appendChild(countsList(p));
      L.popup().setLatLng(layer.getBounds().getCenter()).setContent(box).openOn(map);
    });
  }
  function addOutlines(collection) {
    var layer = L.geoJSON(collection, { style: slsStyle, onEachFeature: onSls });
    layer.addTo(map);
    layer.bringToBack();
    return layer;
  }

  function legend() {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var box = el("div", { class: "map-legend" });
      box.appendChild(el("h2", { text: text("legend-share") }));
      var shares = el("ul");
      data.legend.forEach(function (step) {
        shares.appendChild(el("li", {}, [el("span", { class: "swatch", style: "background:" + step.colour }),
          document.createTextNode(text("legend-range", { from: step.from, to: step.to }))]));
      });
      shares.appendChild(el("li", {}, [el("span", { class: "swatch", style: "background:" + data.no_families }),
        document.createTextNode(text("legend-none"))]));
      box.appendChild(shares);
      box.appendChild(el("h2", { text: text("legend-status") }));
      var statuses = el("ul");
      Object.keys(data.statuses).forEach(function (key) {
        statuses.appendChild(el("li", {}, [el("span", { class: "swatch dot", style: "background:" + data.statuses[key] }),
          document.createTextNode(text("status-" + key))]));
      });
      statuses.appendChild(el("li", {}, [el("span", { class: "swatch ring" }), document.createTextNode(text("legend-flagged"))]));
      box.appendChild(statuses);
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    control.addTo(map);
    return control.getContainer();
  }

  function showFamily(marker, id) {
    getJSON("/api/peta/keluarga/" + id).then(function (f) {
      var box = el("div", { class: "map-popup" }, [el("strong", { text: f.name })]);
      var rows = [[text("status"), text("status-" + f.status)], [text("members"), f.members]];
      if (f.sls) { rows.push([text("sls"), f.sls.name]); }
      if (f.address) { rows.push([text("address"), f.address]); }
      if (f.visit) { rows.push([text("visit"), new Date(f.visit).toLocaleString(document.documentElement.lang)]); }
      box.appendChild(dl(rows));
      if (f.flag) { box.appendChild(el("p", { class: "flag", text: text("flag-" + f.flag) })); }
      marker.bindPopup(box).openPopup();
    }).catch(function () { marker.bindPopup(text("error")).openPopup(); });
  }

  function addPoints(found) {
    var markers = found.points.map(function (p) {
      var marker = L.circleMarker([p.lat, p.lon], {
        radius: p.flagged ? 8 : 6, weight: p.flagged ? 3 : 1, color: p.flagged ? data.flag_colour : "#1f2937",
        fillColor: p.colour, fillOpacity: 0.9, className: p.flagged ? "family flagged" : "family" });
      marker.on("click", function () { showFamily(marker, p.id); });
      return marker;
    });
    points.addLayers(markers);
  }
  var ROUTE_COLOURS = ["#0b4f8a", "#b15928", "#6a3d9a", "#1b7837", "#c51b7d", "#8c510a"];
  function addRoutes(found) {
    found.forEach(function (route, i) {
      var colour = ROUTE_COLOURS[i % ROUTE_COLOURS.length];
      var line = route.stops.map(function (s) { return [s.lat, s.lon]; });
      L.polyline(line, { color: colour, weight: 3, dashArray: "6 4", className: "route" })
        .bindTooltip(text("route", { name: route.enumerator, km: route.km }), { sticky: true }).addTo(routes);
      route.stops.forEach(function (s) {
        // A booked visit (or one made) is a fact; a suggestion (a family to call in a free time) is lighter.
        var icon = L.divIcon({ className: s.booked ? "stop-number" : "stop-number suggested", html: "", iconSize: [22, 22] });
        var marker = L.marker([s.lat, s.lon], { icon: icon, keyboard: true, title: text("stop", { n: s.n, time: s.time, name: route.enumerator }) });
        marker.on("add", function () { if (marker.getElement()) { marker.getElement().textContent = String(s.n); } });
        marker.on("click", function () { showFamily(marker, s.family); });
        marker.addTo(routes);
      });
    });
  }

  function loadVillage(code) {
    if (loaded[code]) { return; }
    loaded[code] = true;
    getJSON("/api/peta/keluarga?area=" + encodeURIComponent(code)).then(function (found) {
      if (found.points.length) { addPoints(found); }
      hint.textContent = found.counts ? text("counts-only") : text("points-shown", { count: points.getLayers().length });
    }).catch(function () { loaded[code] = false; });
    getJSON("/api/peta/rute?area=" + encodeURIComponent(code)).then(addRoutes).catch(function () {});
    if (code !== data.area && !detailed[code]) {  // the kelurahan's outlines at full detail, over the coarse ones
      getJSON("/api/peta/sls?zoom=17&area=" + encodeURIComponent(code)).then(function (found) {
        var coarse = [];
        slsLayer.eachLayer(function (l) { if (l.feature.properties.village === code) { coarse.push(l); } });
        coarse.forEach(function (l) { slsLayer.removeLayer(l); });
        detailed[code] = addOutlines(found);
      }).catch(function () {});
    }
  }

  var centreList = [];
  var ownArea = null;  // the viewer's area when it is one kelurahan or SLS: its families come at once
  function villagesInView() {
    var bounds = map.getBounds(), codes = {};
    if (ownArea) { return [ownArea]; }
    slsLayer.eachLayer(function (l) {
      var v = l.feature.properties.village;
      if (v && bounds.intersects(l.getBounds())) { codes[v] = true; }
    });
    centreList.forEach(function (v) { if (bounds.contains([v.lat, v.lon])) { codes[v.code] = true; } });  // SLS without outlines
    return Object.keys(codes);
  }

  function onMove() {
    if (ownArea) { loadVillage(ownArea); return; }
    if (map.getZoom() < data.points_zoom) {
      hint.textContent = text("zoom-for-families");
      return;
    }
    var codes = villagesInView();
    if (codes.length > 3) { hint.textContent = text("zoom-for-families"); return; }
    codes.forEach(loadVillage);
  }

  getJSON("/api/peta/sls?area=" + encodeURIComponent(data.area)).then(function (found) {
    slsLayer = addOutlines(found);
    var key = legend();
    var b = found.bbox;
    // Keep the outlines clear of the legend (bottom right) on a wide screen; on a phone it would leave no map.
    var room = map.getSize().x > 2.5 * key.offsetWidth ? [key.offsetWidth + 16, 16] : [16, 16];
    var a = found.area;
    centreList = found.villages || [];
    if (a.level === "village" || a.level === "sls") { ownArea = a.code; }
    if (b) { map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { paddingTopLeft: [16, 16], paddingBottomRight: room }); }
    else if (centreList.length) {  // no outline imported yet: around the kelurahan centres
      map.fitBounds(centreList.map(function (v) { return [v.lat, v.lon]; }), { maxZoom: data.points_zoom + 2, padding: [40, 40] });
    } else { map.setView([-2.5, 118], 5); }  // nothing to place: Indonesia
    status.textContent = text("summary", { sls: found.features.length + found.without_boundary, families: a.families, percent: percent(a.share) }) +
      (found.without_boundary ? " · " + text("no-boundary", { count: found.without_boundary }) : "");
    map.on("moveend", onMove);
    onMove();
    (found.villages || []).forEach(function (v) {
      var marker = L.circleMarker([v.lat, v.lon], { radius: 7, color: "#111827", weight: 2, fillColor: "#ffffff",
                                                    fillOpacity: 1, className: "village" });
      marker.bindTooltip(v.name + " · " + percent(v.share) + "%");
      marker.on("click", function () { map.setView([v.lat, v.lon], Math.max(map.getZoom(), data.points_zoom + 1)); });
      marker.addTo(centres);
    });
    document.getElementById("map").dataset.ready = "1";
  }).catch(function (error) { status.textContent = text("error"); if (window.console) { console.error(error); } });
})();
