import { LabIcon } from '@jupyterlab/ui-components';

// A plinth: a slab under a column. `jp-icon3` makes it follow the theme colour.
const logoSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <rect x="9" y="3" width="6" height="11" rx="1"/>
    <rect x="6" y="15" width="12" height="2.5" rx="0.5"/>
    <rect x="3" y="18.5" width="18" height="3" rx="0.5"/>
  </g>
</svg>`;

export const plinthIcon = new LabIcon({ name: 'plinth:logo', svgstr: logoSvg });
