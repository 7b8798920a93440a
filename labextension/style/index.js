import './base.css';
import './table.css';
import './diff.css';
