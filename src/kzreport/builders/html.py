"""The HTML edition: one self-contained, responsive page of the brief, with live maps.

Steps: render ``html/brief.html.j2`` (user templates first, built-ins last) with the PDF's
context (``PdfBuilder.context``: the same words, theme tokens, chart layout and legends) plus
what a screen adds: each map as a live Leaflet map, the page made by the maps builder
(``maps.render_map_html``) placed in a sandboxed ``<iframe srcdoc>`` so its script, styles and
ids stay apart from the page and from the other maps; the logo as a ``data:`` URI; the claims
numbered so that the judgments can link to them.

Offline: nothing in the page names another file or host. Leaflet is inlined in each map's page
(from ``django-js-lib-leaflet``, as the maps builder does), the basemap is drawn from
``assets/geodata``, the chart is inline SVG (``kzreport.svgchart``) and the theme's fonts are the
reader's installed fonts, named by the same stacks as the PDF's (``pdf/theme.css.j2``).

Keyboard: every route and place of a map is also listed under the map as a button that opens
its popup in the map (a ``postMessage`` to the map's frame, handled by ``POPUP_SCRIPT``), with
the popup's text beside it, so the map's content is reachable without a pointer.

Reproducible: the page holds no time but the build time of ``SOURCE_DATE_EPOCH`` and the maps'
pages are stable (``maps._stabilise_ids``), so the same source gives the same bytes.
"""

from __future__ import annotations

import json
from base64 import b64encode
from collections import OrderedDict

from . import Builder
from ..contrast import contrast_ratio

POPUP_SCRIPT = """<script>
(function () {
  /* The page around the map asks for a popup by its position among the map's layers that have one:
     routes first, then places, the order the maps builder binds them in. */
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || data.kzreport !== "popup" || !window.kzreportMap) { return; }
    var index = 0;
    window.kzreportMap.eachLayer(function (layer) {
      if (layer.getPopup && layer.getPopup()) {
        if (index === data.index) { layer.openPopup(); }
        index += 1;
      }
    });
  });
  /* The map's box may be laid out only after the map fitted its bounds (a frame far down the page is
     sized when it nears the screen): fit them again whenever the box's size changes, until the reader
     moves or zooms the map. */
  window.addEventListener("load", function () {  /* the map's own script comes after this one */
    var map = window.kzreportMap, moved = false;
    if (!map) { return; }
    ["mousedown", "touchstart", "wheel", "keydown"].forEach(function (kind) {
      map.getContainer().addEventListener(kind, function () { moved = true; }, {passive: true});
    });
    new ResizeObserver(function () {
      map.invalidateSize({animate: false});
      if (!moved && window.kzreportBounds) { map.fitBounds(window.kzreportBounds, {animate: false}); }
      declutter(map);
    }).observe(map.getContainer());
    map.on("zoomend moveend", function () { declutter(map); });
  });
  /* The labels were placed apart for a wide window; a narrower frame or a zoomed-out map brings them
     together. Show them in order of importance (places as ranked, then highlighted countries, then the
     others) and hide each that would overlap one shown or the map's controls. In a narrow frame the
     legend and the credit, which the figure repeats under the map, give their room to the map. */
  var NARROW = 560;
  function declutter(map) {
    var box = map.getContainer(), frame = box.getBoundingClientRect();
    box.classList.toggle("kz-narrow", frame.width < NARROW);
    var shown = Array.prototype.map.call(box.querySelectorAll(
      ".kz-legend, .leaflet-control-attribution, .leaflet-control-scale, .leaflet-control-zoom"), function (el) {
        return el.getBoundingClientRect();
      }).filter(function (r) { return r.width > 0 && r.height > 0; });
    var ranks = window.kzreportPlaceRanks || {};
    var places = Array.prototype.slice.call(box.querySelectorAll(".kz-label"));
    places.sort(function (a, b) {
      var ra = ranks[a.getAttribute("data-place")], rb = ranks[b.getAttribute("data-place")];
      return (ra === undefined ? 99 : ra) - (rb === undefined ? 99 : rb);
    });
    var labels = places.concat(Array.prototype.slice.call(box.querySelectorAll(".kz-country.kz-highlight span")),
                               Array.prototype.slice.call(box.querySelectorAll(".kz-country:not(.kz-highlight) span")));
    labels.forEach(function (el) { el.style.visibility = ""; });
    labels.forEach(function (el) {
      var r = el.getBoundingClientRect();
      var outside = r.left < frame.left || r.top < frame.top || r.right > frame.right || r.bottom > frame.bottom;
      var hit = outside || shown.some(function (o) {
        return r.left < o.right && o.left < r.right && r.top < o.bottom && o.top < r.bottom;
      });
      if (hit) { el.style.visibility = "hidden"; } else { shown.push(r); }
    });
  }
})();
</script>
<style>.kz-narrow .kz-legend, .kz-narrow .leaflet-control-attribution { display: none; }</style>"""
"""Appended to each map's page: opens the n-th popup when the page around it asks, keeps the map
fitted to its bounds while the frame is sized, and hides the labels that a narrower frame or a
zoomed-out map would set over one another."""

FRAME_VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1.0">'


def _maps():
    """Return the maps builder's module, whose pages, popups and legends the HTML edition embeds."""
    from . import maps

    return maps


MAP_PAGES: "OrderedDict[str, str]" = OrderedDict()
"""The last map pages made in this process, by the maps cache key: ``kzreport preview`` rebuilds the
page on every save, and reading and adapting a map's page each time would cost more than the rest."""
MAP_PAGES_KEPT = 16


def map_frame_page(project, spec) -> str:
    """Return the page of one live map as it goes into the edition's frame: the maps builder's page (from
    the maps cache when its inputs are unchanged, so no Folium runs), with zoom allowed to the reader (a
    map that forbids zooming fails WCAG 1.4.4) and the popup script."""
    import re

    maps = _maps()
    key = maps.cache_key(project, spec, maps.SCREEN)
    if key in MAP_PAGES:
        MAP_PAGES.move_to_end(key)
        return MAP_PAGES[key]
    page = maps.interactive_page(project, spec).decode("utf-8")
    page = re.sub(r'<meta name="viewport"[^>]*>', FRAME_VIEWPORT, page, count=1)
    ranks = json.dumps(place_ranks(spec)).replace("<", "\\u003c")  # ids are keys; kept safe in a script all the same
    ranks = f"<script>window.kzreportPlaceRanks = {ranks};</script>\n"
    page = page.replace("</body>", ranks + POPUP_SCRIPT + "\n</body>", 1)
    MAP_PAGES[key] = page
    while len(MAP_PAGES) > MAP_PAGES_KEPT:
        MAP_PAGES.popitem(last=False)
    return page


def place_ranks(spec) -> dict[str, int]:
    """Return place id -> rank of its label (0 first): capitals, then the ends of routes, then by kind
    (``maps.place_rank``), as the maps builder ranks them when it places them."""
    ends = {(round(w.lat, 2), round(w.lon, 2)) for line in spec.pipelines for w in (line.waypoints[0], line.waypoints[-1])}
    ranks = {}
    for place in spec.places:
        at_end = (round(place.lat, 2), round(place.lon, 2)) in ends
        ranks[place.id] = _maps().place_rank(place, at_end)
    return ranks


def map_items(project, spec) -> list[tuple[str, str, object]]:
    """Return (kind, name, popup HTML as safe markup) of a map's routes, then its places: the order of the
    map's popups, so a list entry's position is its popup's."""
    from markupsafe import Markup

    maps, brief, words = _maps(), project.source, project.words
    items = [("route", line.name, Markup(maps.pipeline_popup(brief, line, words))) for line in spec.pipelines]
    items += [("place", place.name, Markup(maps.place_popup(brief, place, words))) for place in spec.places]
    return items


def claim_numbers(brief) -> dict[str, str]:
    """Return each claim's number as the page shows it: ``2`` for section 2's headline, ``2.3`` for its third claim."""
    numbers = {}
    for si, section in enumerate(brief.sections, 1):
        numbers[section.headline.id] = str(si)
        for ci, claim in enumerate(section.claims, 1):
            numbers[claim.id] = f"{si}.{ci}"
    return numbers


def readable_color(color: str, backgrounds: list[str], toward: str, ratio: float = 4.5) -> str:
    """Return ``color``, moved toward ``toward`` in steps of 5 % until it reads at ``ratio`` on every background.

    The theme's muted grey is chosen for paper; on a tinted card it may fall under WCAG's
    4.5:1, so the page sets secondary text in the nearest shade that keeps it.
    """
    def mix(weight: float) -> str:
        pairs = [(int(color.lstrip("#")[i:i + 2], 16), int(toward.lstrip("#")[i:i + 2], 16)) for i in (0, 2, 4)]
        return "#" + "".join(f"{round(a + (b - a) * weight):02X}" for a, b in pairs)

    for step in range(21):
        candidate = mix(step / 20)
        if all(contrast_ratio(candidate, bg) >= ratio for bg in backgrounds):
            return candidate
    return toward


def logo_data_uri(project) -> str | None:
    """Return the theme's logo as a ``data:`` URI, or None when the theme has none."""
    from ..theme import read_logo

    logo = read_logo(project.theme, project.theme_dir)
    if not logo:
        return None
    data, mime = logo
    return f"data:{mime};base64,{b64encode(data).decode('ascii')}"


class HtmlBuilder(Builder):
    """Builds ``<stem>.html``: the brief as one self-contained page for screens (and print preview)."""

    name = "html"

    def build(self, project, reporter) -> None:
        """Add the brief's HTML edition to the project's outputs."""
        with reporter.stage("html template"):
            page = self.render_html(project)
        project.add_output(project.output_path(f"{project.stem}.html"), page.encode("utf-8"))

    def render_html(self, project) -> str:
        """Return the HTML edition of the brief."""
        from ..templating import render_template, template_environment

        env = template_environment(project.options.templates_dir)
        return render_template(env, "html/brief.html.j2", self.context(project))

    def context(self, project) -> dict:
        """Return what the templates see: the PDF's context (words, theme, chart, legends) and the screen's parts."""
        from . import pdf

        logo = logo_data_uri(project)
        # The page has no pages: the PDF's placement of floats and running heads is left at its default.
        extra = (pdf.Placement(),) if hasattr(pdf, "Placement") else ()
        context = pdf.PdfBuilder().context(project, {}, *extra)
        context.update({
            "page_size": "A4" if (project.options.page_size or project.theme.page_size) == "A4" else "letter",
            "print_marks": False,
            "logo_url": logo,
            "map_url": lambda map_id: None,
            "map_page": lambda spec: map_frame_page(project, spec),
            "map_items": lambda spec: map_items(project, spec),
            "muted_text": readable_color(project.theme.colors.muted, [project.theme.colors.background,
                                                                      project.theme.colors.light],
                                         project.theme.colors.text),
            "claim_numbers": claim_numbers(project.source),
            "claim_texts": {claim.id: claim.text for claim in project.source.all_claims()},
        })
        return context
