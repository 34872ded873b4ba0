"""The study map's page script: panels, the period switch and the what-if planner.

Private to :mod:`defibmap.outputs.map`. :data:`PAGE_JS` runs once the map and its layers
exist. It reads one JSON payload (built by :mod:`defibmap.outputs.map._planner`; every text
in it escaped in Python already) and the names of folium's layer variables, and:

- puts the headline, legend, sources and planner panels on the map as Leaflet controls and
  fits the view to the content with room for them;
- draws each resident as a Leaflet circle marker whose ``fillColor`` is its colour in the
  chosen period (day, school holidays, night) and plan;
- measures the plan (today's defibs, ticked or not, and the ticked candidates) from the
  embedded catchments: year-round available, night and any-time coverage, as
  :func:`defibmap.study.compare.planner_figures` does in Python.
"""

from __future__ import annotations

PAGE_JS = r"""
(function () {
  var P = __PAYLOAD__;
  var map = __MAP__;
  var residents = __RESIDENTS__;
  var legendLayers = __LEGEND_LAYERS__;
  var reachPairs = __REACH_PAIRS__;
  var S = P.sites, nS = S.kind.length, W = S.nWords;
  var nD = P.pop.length, ptr = P.pairs.ptr, ps = P.pairs.site, pb = P.pairs.band,
      pw = P.pairs.walk, nb = P.bandColours.length;
  var slotHours = P.slotHours, nSlots = slotHours.length, hoursTotal = 0, popTotal = 0;
  slotHours.forEach(function (h) { hoursTotal += h; });
  P.pop.forEach(function (p) { popTotal += p; });
  var today = [], plan = [];
  for (var i = 0; i < nS; i += 1) { today.push(i < S.nCurrent ? 1 : 0); plan.push(today[i]); }
  P.initial.forEach(function (s) { plan[s] = 1; });
  // pairs of the cabinets placed in the page, per demand point: [site, band, walk]
  var extra = [];
  var period = 0;
  var container = map.getContainer();
  container.classList.add('defibmap-page');

  function measure(mask, usable) {
    var avail = 0, night = 0, any = 0, words = new Uint32Array(Math.max(W, 1));
    var band = new Int8Array(nD), near = new Int32Array(nD), walk = new Float64Array(nD);
    for (var d = 0; d < nD; d += 1) {
      var a = 0, n = 0, b = nb, best = Infinity, who = -1;
      words.fill(0);
      var xs = extra[d] || [], nk = ptr[d + 1] - ptr[d];
      for (var q = 0; q < nk + xs.length; q += 1) {
        var k = ptr[d] + q, x = q < nk ? null : xs[q - nk];
        var s = x ? x[0] : ps[k], sb = x ? x[1] : pb[k], sw = x ? x[2] : pw[k];
        if (!mask[s]) { continue; }
        a = 1;
        if (S.night[s]) { n = 1; }
        for (var w = 0; w < W; w += 1) { words[w] |= S.words[s * W + w]; }
        if (usable && usable[s]) {
          if (sb < b) { b = sb; }
          if (sw < best) { best = sw; who = s; }
        }
      }
      var h = 0;
      for (var j = 0; j < nSlots; j += 1) {
        if ((words[j >> 5] >>> (j & 31)) & 1) { h += slotHours[j]; }
      }
      var pop = P.pop[d];
      avail += pop * (h / hoursTotal);
      night += pop * n;
      any += pop * a;
      band[d] = b; near[d] = who; walk[d] = best;
    }
    var share = function (x) { return popTotal > 0 ? x / popTotal : 0; };
    return {available: share(avail), night: share(night), any_time: share(any),
            band: band, near: near, walk: walk};
  }

  // ------------------------------------------------------------------ panels (Leaflet controls)
  function panel(position, cls, html) {
    var Control = L.Control.extend({
      options: {position: position},
      onAdd: function () {
        var div = L.DomUtil.create('div', 'defibmap-panel ' + cls);
        div.innerHTML = html;
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    var control = new Control();
    control.addTo(map);
    return control.getContainer();
  }
  var head = panel('topleft', 'defibmap-title', P.panels.headline);
  var planBox = P.panels.planner ? panel('topright', 'defibmap-planner', P.panels.planner) : null;
  var legendBox = panel('bottomright', 'defibmap-legend', '');
  panel('bottomleft', 'defibmap-sources', P.panels.sources);
  var legendOpen = window.innerWidth >= 1200 && window.innerHeight >= 700;

  function drawLegend() {
    var details = legendBox.querySelector('details');
    if (details) { legendOpen = details.open; }
    var rows = P.legend.filter(function (section) {
      return section.layer < 0 || map.hasLayer(legendLayers[section.layer]);
    }).map(function (section) { return section.html; });
    legendBox.innerHTML = '<details' + (legendOpen ? ' open' : '') +
      '><summary>Legend</summary><div class="defibmap-legend-body">' + rows.join('') +
      '</div></details>';
  }
  drawLegend();
  map.on('overlayadd overlayremove', drawLegend);

  // --------------------------------------------------------------------------- residents
  var markers = [];
  if (residents && P.demand) {
    var D = P.demand;
    for (var d = 0; d < nD; d += 1) {
      var m = L.circleMarker([D.lat[d], D.lon[d]], {
        radius: D.r[d], weight: 1, color: '#333333', fillColor: '#999999', fillOpacity: 0.8
      });
      m.bindTooltip((function (index) { return function () { return tip(index); }; })(d));
      m.addTo(residents);
      markers.push(m);
    }
  }
  var now = null, base = null;

  function fmtWalk(index, result) {
    if (result.near[index] < 0) {
      return 'none within ' + P.headlineM + ' m';
    }
    return Math.round(result.walk[index]).toLocaleString('en-GB') + ' m (' +
      S.name[result.near[index]] + ')';
  }
  function tip(index) {
    var name = P.periods.length ? P.periods[period].label.toLowerCase() : 'any time';
    var text = '<b>' + P.demand.label[index] + '</b><br>Residents: ' +
      Math.round(P.pop[index]).toLocaleString('en-GB') +
      '<br>Walk to the nearest defib usable ' + (P.periods.length ? 'by ' : '') + name +
      ', today: ' + fmtWalk(index, base);
    if (changed()) { text += '<br>With this plan: ' + fmtWalk(index, now); }
    return text;
  }
  function changed() {
    for (var s = 0; s < nS; s += 1) { if (plan[s] !== today[s]) { return true; } }
    return false;
  }
  function colour(index) {
    var t = base.band[index], p = now.band[index];
    if (t < nb && p < nb) { return P.bandColours[t]; }
    if (p < nb) { return P.colours.added; }
    if (t < nb) { return P.colours.lost; }
    return P.colours.over;
  }

  // ---------------------------------------------------------------------------- figures
  function pct(x) { return (100 * x).toFixed(1) + '%'; }
  function people(x) {
    var r = Math.round(x);
    return (r > 0 ? '+' : r < 0 ? '\u2212' : '') + Math.abs(r).toLocaleString('en-GB');
  }
  function setCell(figure, when, value, text) {
    head.querySelectorAll('[data-figure="' + figure + '"][data-when="' + when + '"]')
      .forEach(function (cell) {
        cell.textContent = text;
        cell.setAttribute('data-value', value);
      });
  }
  var usableNow = function () { return P.periods.length ? P.periods[period].usable : null; };
  var todayAll = measure(today, null);
  if (P.planner) {
    ['available', 'night', 'any_time'].forEach(function (f) {
      setCell(f, 'today', todayAll[f], pct(todayAll[f]));
    });
  }

  function siteStyles() {
    var usable = usableNow(), css = [];
    for (var s = 0; s < nS; s += 1) {
      var sel = '.defibmap-s' + s;
      if (s < S.nCurrent && !plan[s]) {
        css.push(sel + '{opacity:0.35;filter:grayscale(1)}');
      } else if (s < S.nCurrent && usable && !usable[s]) {
        css.push(sel + '{opacity:0.45;filter:grayscale(1)}');
      } else if (s >= S.nCurrent && plan[s]) {
        css.push(sel + '>div{box-shadow:0 0 0 3px ' + P.colours.added + ',0 0 4px #000}');
      } else if (s >= S.nCurrent && S.recommended[s]) {
        css.push(sel + '{opacity:0.45}');
      }
    }
    var style = document.getElementById('defibmap-plan-style');
    if (!style) {
      style = document.createElement('style');
      style.id = 'defibmap-plan-style';
      document.head.appendChild(style);
    }
    style.textContent = css.join('\n');
  }

  function update() {
    if (!P.planner) { return; }
    var usable = usableNow();
    base = measure(today, usable);
    now = measure(plan, usable);
    ['available', 'night', 'any_time'].forEach(function (f) {
      setCell(f, 'plan', now[f], pct(now[f]));
      var added = (now[f] - todayAll[f]) * popTotal;
      setCell('added_' + f, 'plan', added, people(added));
    });
    var nAdded = 0, nRemoved = 0;
    for (var s = 0; s < nS; s += 1) {
      if (plan[s] && !today[s]) { nAdded += 1; }
      if (!plan[s] && today[s]) { nRemoved += 1; }
    }
    head.querySelectorAll('.defibmap-plan-size').forEach(function (el) {
      el.textContent = nAdded + ' added' + (nRemoved ? ', ' + nRemoved + ' taken away' : '');
    });
    markers.forEach(function (m, index) {
      var c = colour(index);
      m.setStyle({fillColor: c, color: c === P.colours.added ? '#000000' : '#333333'});
    });
    siteStyles();
  }

  // ------------------------------------------------------------------------ period switch
  head.querySelectorAll('.defibmap-daynight input').forEach(function (box) {
    box.addEventListener('change', function () {
      if (!box.checked) { return; }
      period = Number(box.getAttribute('data-period'));
      var to = P.periods[period].night ? 1 : 0;
      reachPairs.forEach(function (pair) {
        if (map.hasLayer(pair[1 - to])) { map.removeLayer(pair[1 - to]); map.addLayer(pair[to]); }
      });
      update();
    });
  });

  // ------------------------------------------------------------------------------ planner
  function planText() {
    var ids = [], placed = [];
    for (var s = 0; s < nS; s += 1) {
      if (S.kind[s] === 'placed') {
        if (plan[s]) { placed.push(S.where[s]); }
        continue;
      }
      if (plan[s] && !today[s]) { ids.push(S.id[s]); }
      if (!plan[s] && today[s]) { ids.push('-' + S.id[s]); }
    }
    var text = '[' + ids.map(function (x) { return JSON.stringify(x); }).join(', ') + ']';
    if (placed.length) {
      text += '\n# and cabinets placed on the map (lat, lon): ' + placed.join('; ');
    }
    return text;
  }

  // ------------------------------------- a cabinet placed on any street (small networks only)
  function reachFrom(start, limit) {
    var G = P.streets, dist = new Map(), heap = [[0, start]];
    function push(item) {
      heap.push(item);
      var i = heap.length - 1;
      while (i > 0) {
        var up = (i - 1) >> 1;
        if (heap[up][0] <= heap[i][0]) { break; }
        var t = heap[up]; heap[up] = heap[i]; heap[i] = t; i = up;
      }
    }
    function pop() {
      var top = heap[0], last = heap.pop();
      if (heap.length) {
        heap[0] = last;
        var i = 0;
        for (;;) {
          var l = 2 * i + 1, r = l + 1, m = i;
          if (l < heap.length && heap[l][0] < heap[m][0]) { m = l; }
          if (r < heap.length && heap[r][0] < heap[m][0]) { m = r; }
          if (m === i) { break; }
          var t = heap[m]; heap[m] = heap[i]; heap[i] = t; i = m;
        }
      }
      return top;
    }
    while (heap.length) {
      var item = pop(), du = item[0], u = item[1];
      if (dist.has(u)) { continue; }
      dist.set(u, du);
      for (var k = G.ptr[u]; k < G.ptr[u + 1]; k += 1) {
        var v = G.idx[k], dv = du + G.len[k];
        if (dv <= limit && !dist.has(v)) { push([dv, v]); }
      }
    }
    return dist;
  }
  function place(latlng) {
    var G = P.streets, best = -1, bestD = Infinity;
    var cos = Math.cos(latlng.lat * Math.PI / 180);
    for (var i = 0; i < G.lat.length; i += 1) {
      var dy = G.lat[i] - latlng.lat, dx = (G.lon[i] - latlng.lng) * cos;
      var dd = dx * dx + dy * dy;
      if (dd < bestD) { bestD = dd; best = i; }
    }
    if (best < 0) { return; }
    var limit = Number(P.headlineM), dist = reachFrom(best, limit), s = nS, reached = 0;
    for (var d = 0; d < nD; d += 1) {
      if (G.du[d] < 0) { continue; }
      var w = Math.min(dist.has(G.du[d]) ? dist.get(G.du[d]) + G.dtu[d] : Infinity,
                       dist.has(G.dv[d]) ? dist.get(G.dv[d]) + G.dtv[d] : Infinity);
      if (!(w <= limit)) { continue; }
      var b = 0;
      while (b < P.thresholds.length && w > P.thresholds[b]) { b += 1; }
      (extra[d] = extra[d] || []).push([s, b, w]);
      reached += P.pop[d];
    }
    var where = G.lat[best].toFixed(5) + ', ' + G.lon[best].toFixed(5);
    S.id.push('placed:' + where); S.name.push('cabinet placed at ' + where);
    S.kind.push('placed'); S.recommended.push(0); S.night.push(1);
    S.where = S.where || []; S.where[s] = where;
    for (var w2 = 0; w2 < W; w2 += 1) { S.words.push(0xffffffff); }
    P.periods.forEach(function (p) { p.usable.push(1); });
    today.push(0); plan.push(1); nS += 1;
    var marker = L.marker([G.lat[best], G.lon[best]], {icon: L.divIcon({
      className: 'defibmap-icon defibmap-placed defibmap-s' + s, iconSize: [22, 22],
      iconAnchor: [11, 11],
      html: '<div class="defibmap-sym" style="width:22px;height:22px;background:' +
            P.colours.added + ';color:#000;border:2px solid #000;border-radius:50%">+</div>'})});
    marker.bindTooltip('Cabinet placed here (24/7, at the nearest street corner): ' +
      Math.round(reached).toLocaleString('en-GB') + ' residents within ' + P.headlineM +
      ' m walk. Click to take it away.');
    marker.on('click', function () { plan[s] = 0; map.removeLayer(marker); update(); });
    marker.addTo(map);
    update();
  }
  if (planBox) {
    planBox.querySelectorAll('input.defibmap-plan').forEach(function (box) {
      var s = Number(box.getAttribute('data-i'));
      box.checked = plan[s] === 1;
      box.addEventListener('change', function () {
        plan[s] = box.checked ? 1 : 0;
        update();
      });
    });
    // the open plan and the legend share the right edge: opening one folds the other
    planBox.querySelector('details').addEventListener('toggle', function (e) {
      var legend = legendBox.querySelector('details');
      if (e.target.open && legend) { legend.open = false; legendOpen = false; }
    });
    var placing = planBox.querySelector('input.defibmap-place');
    if (placing && P.streets) {
      map.on('click', function (e) { if (placing.checked) { place(e.latlng); } });
    }
    var copy = planBox.querySelector('.defibmap-copy');
    var out = planBox.querySelector('.defibmap-plan-text');
    copy.addEventListener('click', function () {
      out.value = planText();
      out.hidden = false;
      out.select();
      if (navigator.clipboard) { navigator.clipboard.writeText(out.value).catch(function () {}); }
    });
  }
  // the residents' markers in the order of the study's demand points (tests read them)
  window.defibmapResidents = function () { return markers.slice(); };
  window.defibmapPlan = {
    text: planText,
    figures: function () { return now && {available: now.available, night: now.night,
                                   any_time: now.any_time}; }
  };

  // --------------------------------------------------- fit the view with room for the panels
  // Each corner's panels keep the content out of their columns (padding that side) or out
  // of their rows (padding top or bottom): of the 16 choices, the one with the largest zoom.
  function fit() {
    var box = container.getBoundingClientRect(), pad = 24, corners = [];
    [['top', 'left'], ['top', 'right'], ['bottom', 'left'], ['bottom', 'right']]
      .forEach(function (c) {
        var w = 0, h = 0;
        container.querySelectorAll('.leaflet-' + c[0] + '.leaflet-' + c[1] + ' .leaflet-control')
          .forEach(function (el) {
            var r = el.getBoundingClientRect();
            if (r.width === 0 && r.height === 0) { return; }
            w = Math.max(w, c[1] === 'left' ? r.right - box.left : box.right - r.left);
            h = Math.max(h, c[0] === 'top' ? r.bottom - box.top : box.bottom - r.top);
          });
        corners.push({v: c[0], h: c[1], w: w, ht: h});
      });
    var best = null;
    for (var pick = 0; pick < 16; pick += 1) {
      var edge = {top: 0, bottom: 0, left: 0, right: 0};
      corners.forEach(function (c, i) {
        if ((pick >> i) & 1) { edge[c.v] = Math.max(edge[c.v], c.ht); }
        else { edge[c.h] = Math.max(edge[c.h], c.w); }
      });
      var tl = L.point(edge.left + pad, edge.top + pad);
      var br = L.point(edge.right + pad, edge.bottom + pad);
      if (tl.x + br.x >= box.width - 40 || tl.y + br.y >= box.height - 40) { continue; }
      var zoom = map.getBoundsZoom(P.bounds, false, tl.add(br));
      if (!best || zoom > best.zoom) { best = {zoom: zoom, tl: tl, br: br}; }
    }
    var options = {maxZoom: 17, animate: false};
    if (best) { options.paddingTopLeft = best.tl; options.paddingBottomRight = best.br; }
    map.fitBounds(P.bounds, options);
  }
  update();
  fit();
  window.defibmapReady = true;
})();
"""
