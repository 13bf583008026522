"""The in-browser explorer's CSS (scoped: the component renders in a shadow root)."""

EXPLORER_CSS = """
.vae-explorer { max-width: 560px; outline: none; font: 13px/1.4 sans-serif; color: inherit; }
.vae-explorer:focus-visible .stage { box-shadow: 0 0 0 2px #ff4b4b; }
.vae-explorer .stage { position: relative; width: 100%; }
.vae-explorer canvas.base, .vae-explorer canvas.over { width: 100%; display: block; }
.vae-explorer canvas.over { position: absolute; inset: 0; cursor: crosshair; }
.vae-explorer .bar { display: flex; gap: 8px; align-items: center; margin: 4px 0; min-height: 26px; }
.vae-explorer .readout { flex: 1; font-variant-numeric: tabular-nums; }
.vae-explorer button.clear { font: inherit; padding: 2px 8px; cursor: pointer; }
.vae-explorer .thumbs { display: flex; flex-wrap: wrap; gap: 6px; }
.vae-explorer .thumb { display: flex; flex-direction: column; align-items: center; font-size: 11px; }
.vae-explorer .thumb canvas { width: 120px; border: 3px solid transparent; }
.vae-explorer canvas.side { width: 100%; height: 70px; display: block; }
.vae-explorer .note { font-size: 11px; opacity: 0.75; }
.vae-explorer .legend { display: flex; gap: 6px; align-items: center; font-size: 11px; }
.vae-explorer .legend canvas { width: 140px; height: 10px; border: 1px solid #8884; }
"""
