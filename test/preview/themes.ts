// Dev-only: VS Code's theme variables (Light Modern, Dark Modern, High Contrast) for the preview page.
export const themes: Record<string, { bodyClass: string; vars: Record<string, string> }> = {
  light: {
    bodyClass: 'vscode-light',
    vars: {
      'font-family': 'system-ui, "Ubuntu", "Droid Sans", sans-serif', 'font-size': '13px', 'editor-font-family': '"DejaVu Sans Mono", monospace', 'editor-font-size': '13px',
      foreground: '#3b3b3b', descriptionForeground: '#6e7681', 'editor-background': '#ffffff', focusBorder: '#005fb8', 'panel-border': '#e5e5e5',
      'button-background': '#005fb8', 'button-foreground': '#ffffff', 'button-hoverBackground': '#0258a8', 'button-secondaryBackground': '#e5e5e5', 'button-secondaryForeground': '#3b3b3b', 'button-secondaryHoverBackground': '#cccccc',
      'dropdown-background': '#ffffff', 'dropdown-border': '#cecece', 'dropdown-foreground': '#3b3b3b', 'badge-background': '#cccccc', 'badge-foreground': '#3b3b3b',
      'charts-blue': '#1a85ff', 'charts-red': '#e51400', 'charts-green': '#388a34', 'charts-yellow': '#bf8803', 'charts-orange': '#d18616', 'charts-purple': '#652d90',
      'textLink-foreground': '#005fb8', errorForeground: '#f85149', 'editorWarning-foreground': '#bf8803', 'editorHoverWidget-background': '#f8f8f8', 'editorHoverWidget-foreground': '#3b3b3b', 'editorHoverWidget-border': '#c8c8c8',
      'progressBar-background': '#005fb8', 'textBlockQuote-background': '#f8f8f8', 'toolbar-hoverBackground': 'rgba(184, 184, 184, 0.31)', 'editorWhitespace-foreground': 'rgba(51, 51, 51, 0.2)', 'editor-selectionBackground': '#add6ff', 'panelTitle-activeBorder': '#005fb8', 'testing-iconPassed': '#388a34',
    },
  },
  dark: {
    bodyClass: 'vscode-dark',
    vars: {
      'font-family': 'system-ui, "Ubuntu", "Droid Sans", sans-serif', 'font-size': '13px', 'editor-font-family': '"DejaVu Sans Mono", monospace', 'editor-font-size': '13px',
      foreground: '#cccccc', descriptionForeground: '#9d9d9d', 'editor-background': '#1f1f1f', focusBorder: '#0078d4', 'panel-border': '#2b2b2b',
      'button-background': '#0078d4', 'button-foreground': '#ffffff', 'button-hoverBackground': '#026ec1', 'button-secondaryBackground': '#313131', 'button-secondaryForeground': '#cccccc', 'button-secondaryHoverBackground': '#3c3c3c',
      'dropdown-background': '#313131', 'dropdown-border': '#3c3c3c', 'dropdown-foreground': '#cccccc', 'badge-background': '#616161', 'badge-foreground': '#f8f8f8',
      'charts-blue': '#3794ff', 'charts-red': '#f14c4c', 'charts-green': '#89d185', 'charts-yellow': '#cca700', 'charts-orange': '#d18616', 'charts-purple': '#b180d7',
      'textLink-foreground': '#4daafc', errorForeground: '#f85149', 'editorWarning-foreground': '#cca700', 'editorHoverWidget-background': '#202020', 'editorHoverWidget-foreground': '#cccccc', 'editorHoverWidget-border': '#454545',
      'progressBar-background': '#0078d4', 'textBlockQuote-background': '#2b2b2b', 'toolbar-hoverBackground': 'rgba(90, 93, 94, 0.31)', 'editorWhitespace-foreground': 'rgba(227, 228, 226, 0.16)', 'editor-selectionBackground': '#264f78', 'panelTitle-activeBorder': '#0078d4', 'testing-iconPassed': '#73c991',
    },
  },
  hc: {
    bodyClass: 'vscode-high-contrast',
    vars: {
      'font-family': 'system-ui, "Ubuntu", "Droid Sans", sans-serif', 'font-size': '13px', 'editor-font-family': '"DejaVu Sans Mono", monospace', 'editor-font-size': '13px',
      foreground: '#ffffff', descriptionForeground: 'rgba(255, 255, 255, 0.7)', 'editor-background': '#000000', focusBorder: '#f38518', 'panel-border': '#6fc3df', contrastBorder: '#6fc3df',
      'button-background': '#000000', 'button-foreground': '#ffffff', 'button-secondaryBackground': '#000000', 'button-secondaryForeground': '#ffffff',
      'dropdown-background': '#000000', 'dropdown-border': '#6fc3df', 'dropdown-foreground': '#ffffff', 'badge-background': '#000000', 'badge-foreground': '#ffffff',
      'charts-blue': '#3794ff', 'charts-red': '#f14c4c', 'charts-green': '#89d185', 'charts-yellow': '#cca700', 'charts-orange': '#d18616', 'charts-purple': '#b180d7',
      'textLink-foreground': '#21a6ff', errorForeground: '#f48771', 'editorWarning-foreground': '#ffd370', 'editorHoverWidget-background': '#0c141f', 'editorHoverWidget-foreground': '#ffffff', 'editorHoverWidget-border': '#6fc3df',
      'progressBar-background': '#6fc3df', 'textBlockQuote-background': '#000000', 'editorWhitespace-foreground': 'rgba(124, 124, 124, 0.6)', 'editor-selectionBackground': '#ffffff', 'panelTitle-activeBorder': '#6fc3df', 'testing-iconPassed': '#73c991',
    },
  },
};
